/**
 * The engine's time source and timers, injectable so unit specs can drive the engine without
 * sleeping. Timers the system clock creates are `unref()`'d: a pending retry or wake-up never keeps
 * the process alive on its own. Deferred callbacks are not: an unref'd immediate does not wake an
 * otherwise idle event loop, so a send started from a timer callback could wait for the next
 * unrelated timer.
 */
export interface Clock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Calls `callback` after `ms` milliseconds; returns a handle for `clearTimer`. */
  setTimer(callback: () => void, ms: number): unknown;
  /** Cancels a timer; accepts undefined and handles of timers that already fired. */
  clearTimer(handle: unknown): void;
  /** Calls `callback` on a later turn of the event loop, after pending I/O callbacks. */
  defer(callback: () => void): void;
}

/** `performance.now()` and Node's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
  defer: (callback) => void setImmediate(callback),
};
