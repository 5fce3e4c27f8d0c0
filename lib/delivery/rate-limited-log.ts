import type { Logger } from '@nestjs/common';

/**
 * Logs a warning of each kind at most once per interval; what was held back is counted and
 * reported with the next line of that kind, so an outage costs a few lines, not one per click.
 */
export class RateLimitedLog {
  private readonly lastByKind = new Map<string, { at: number; held: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Logs `message` at warn unless a warning of `kind` was logged within the interval. */
  warn(kind: string, message: () => string): void {
    const now = this.now();
    const last = this.lastByKind.get(kind);
    if (last && now - last.at < this.intervalMs) {
      last.held++;
      return;
    }
    this.lastByKind.set(kind, { at: now, held: 0 });
    const held = last?.held ?? 0;
    this.logger.warn(
      message() +
        (held > 0 ? ` (${held} more like this since the last such line, not logged)` : ''),
    );
  }
}
