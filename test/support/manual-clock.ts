import type { Clock } from '../../lib/delivery/clock.js';

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
}

/**
 * A clock for unit specs: time moves only when the spec calls `advance`, which runs deferred
 * callbacks and due timers in order, letting promise continuations run between them.
 */
export class ManualClock implements Clock {
  private current = 0;
  private seq = 0;
  private readonly timers = new Set<Timer>();
  private deferred: (() => void)[] = [];

  now(): number {
    return this.current;
  }

  setTimer(callback: () => void, ms: number): unknown {
    const timer = { at: this.current + Math.max(0, ms), seq: this.seq++, callback };
    this.timers.add(timer);
    return timer;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as Timer);
  }

  defer(callback: () => void): void {
    this.deferred.push(callback);
  }

  /** Runs what is deferred, and lets promise continuations run, until nothing more happens. */
  async settle(): Promise<void> {
    for (let round = 0; round < 1_000; round++) {
      // A real turn of the event loop: every pending promise continuation runs.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.deferred.length === 0) return;
      const callbacks = this.deferred;
      this.deferred = [];
      for (const callback of callbacks) callback();
    }
    throw new Error('ManualClock: still busy after 1 000 rounds');
  }

  /** Moves time forward by `ms`, firing due timers in order and settling after each. */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms;
    await this.settle();
    for (;;) {
      const next = [...this.timers]
        .filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.timers.delete(next);
      this.current = Math.max(this.current, next.at);
      next.callback();
      await this.settle();
    }
    this.current = end;
    await this.settle();
  }
}
