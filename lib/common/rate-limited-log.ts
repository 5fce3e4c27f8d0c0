import type { Logger } from '@nestjs/common';

interface Window {
  /** When the window's first line was logged. */
  readonly at: number;
  /** Lines held back in this window. */
  held: number;
  /** The latest held-back message, reported when the window closes. */
  latest?: () => string;
  timer?: NodeJS.Timeout;
}

/**
 * Logs a warning of each kind at most once per interval, so an outage costs a few lines, not one per
 * click. What is held back is not lost: when the interval ends, one more line reports how many
 * warnings of that kind were held back, with the latest of them.
 */
export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Logs `message` at warn unless a warning of `kind` was logged within the interval. */
  warn(kind: string, message: () => string): void {
    const now = this.now();
    const window = this.windows.get(kind);
    if (window && now - window.at < this.intervalMs) {
      window.held++;
      window.latest = message;
      window.timer ??= this.closeLater(kind, window, this.intervalMs - (now - window.at));
      return;
    }
    this.windows.set(kind, { at: now, held: 0 });
    this.logger.warn(message());
  }

  /** Reports what is still held back now (at shutdown), instead of when the windows close. */
  flush(): void {
    for (const [kind, window] of this.windows) this.close(kind, window);
  }

  private closeLater(kind: string, window: Window, delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.close(kind, window), Math.max(0, delayMs));
    timer.unref();
    return timer;
  }

  private close(kind: string, window: Window): void {
    clearTimeout(window.timer);
    const { held, latest } = window;
    if (held === 0 || !latest) {
      this.windows.delete(kind);
      return;
    }
    // The summary is this kind's line for a new window: a steady stream costs one line per interval.
    this.windows.set(kind, { at: this.now(), held: 0 });
    this.logger.warn(
      `${latest()} (${held} more like this in the last ${formatSeconds(this.intervalMs)}, ` +
        `this being the latest)`,
    );
  }
}

const formatSeconds = (ms: number): string =>
  ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms)} ms`;
