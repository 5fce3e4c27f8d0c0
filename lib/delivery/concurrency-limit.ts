/**
 * How many attempts may be in flight to one cluster. Pure policy: no timers, no I/O, no Nest; the
 * engine feeds it one sample per finished attempt and reads `limit` before starting another.
 *
 * The adaptive limit is a windowed gradient controller in the spirit of Netflix's concurrency-limits
 * (Gradient2, with the fixes its issue tracker asks for) and Envoy's adaptive concurrency filter:
 *
 * - **Baseline.** The no-load latency is the lowest *window average* seen, never one sample (one
 *   lucky fast answer must not become the baseline, as it does in Vegas). It is re-measured when the
 *   limit sat at its floor for a few windows and latency still read as congested (as Envoy does),
 *   since at the floor the latency *is* the no-load latency.
 * - **Windows.** A window only counts attempts that started after it opened, so a decision is never
 *   made on answers to requests sent under the previous limit; it closes after `minWindowMs` and a
 *   few samples. A window is therefore at least one round trip long.
 * - **Decrease.** When the window's average latency rises above `tolerance × baseline` (plus a little
 *   slack for timer noise), the limit is multiplied by the gradient `threshold / average` (at most
 *   halved). Overload answers (5xx, 408, 429) and timeouts count as drops: the limit is multiplied by
 *   `1 - dropRatio / 2` (when they are at least 5 % of the window). A long round trip with a flat latency is not overload and costs nothing.
 * - **Increase.** Only when the window was not app-limited (some moment had at least half the limit
 *   in flight). Until the first decrease (slow start) the limit doubles per window, or grows up to
 *   fourfold when that many notifications are waiting, so a campaign burst against a cluster a
 *   second away is carried within two or three round trips; then `+√limit` per window, which
 *   settles near what an overloaded cluster serves instead of creeping past it (the `+queueSize`
 *   drift Gradient2 has is only applied when there is no congestion at all).
 */

/** What the engine reports about one finished attempt. */
export interface LimitSample {
  /** When the attempt started, on the limit's clock. */
  readonly startedAt: number;
  /** How long it took, in milliseconds. */
  readonly rttMs: number;
  /** Attempts in flight to the cluster when its answer came (itself included). */
  readonly inFlight: number;
  /** The cluster signalled overload or did not answer in time: 5xx, 408, 429, timeout, network. */
  readonly overloaded: boolean;
  /**
   * Notifications for the cluster now, in flight and waiting: more than the limit means the app
   * would send more if it could. Unknown counts as unbounded.
   */
  readonly backlog?: number;
}

/** A concurrency limit: fixed, or adapting to the samples it is fed. */
export interface ConcurrencyLimit {
  /** Attempts allowed in flight now; a whole number ≥ 1. */
  readonly limit: number;
  /** The no-load latency the limit compares against, in milliseconds; undefined before it knows. */
  readonly baselineMs: number | undefined;
  /** Feeds one finished attempt. */
  onSample(sample: LimitSample): void;
}

/** `concurrency: N`: exactly N in flight, whatever the cluster does. */
export class FixedConcurrencyLimit implements ConcurrencyLimit {
  readonly baselineMs = undefined;
  constructor(readonly limit: number) {}
  onSample(): void {
    // Fixed: nothing to learn.
  }
}

/** Settings of `AdaptiveConcurrencyLimit`; only `min`, `max` and `now` are required. */
export interface AdaptiveLimitOptions {
  /** Floor of the limit. */
  readonly min: number;
  /** Ceiling of the limit. */
  readonly max: number;
  /** The clock samples' `startedAt` is read on (milliseconds). */
  readonly now: () => number;
  /** Limit before the first window closes. @default min(max, 2 × min) */
  readonly initial?: number;
  /** Average latency up to `tolerance × baseline` is not congestion. @default 1.25 */
  readonly tolerance?: number;
  /** Shortest window, in milliseconds. @default 100 */
  readonly minWindowMs?: number;
  /** Samples a window needs (fewer while the limit itself is smaller). @default 10 */
  readonly minSamples?: number;
}

/** Latency within this many milliseconds above the threshold is timer and scheduling noise. */
const LATENCY_SLACK_MS = 2;
/** Congested windows at the floor after which the baseline is measured again. */
const FLOOR_WINDOWS_BEFORE_REBASE = 5;
/** Below this share of drops in a window, drops are not acted on. */
const MIN_DROP_RATIO = 0.05;
/** No decision cuts the limit by more than half. */
const MAX_CUT = 0.5;

export class AdaptiveConcurrencyLimit implements ConcurrencyLimit {
  private value: number;
  private baseline: number | undefined;
  private slowStart = true;
  private congestedAtFloor = 0;
  // The open window.
  private windowStart: number;
  private okCount = 0;
  private okRttSum = 0;
  private drops = 0;
  private peakInFlight = 0;
  private backlog = 0;

  private readonly min: number;
  private readonly max: number;
  private readonly tolerance: number;
  private readonly minWindowMs: number;
  private readonly minSamples: number;
  private readonly now: () => number;

  constructor(options: AdaptiveLimitOptions) {
    this.min = Math.max(1, Math.floor(options.min));
    this.max = Math.max(this.min, Math.floor(options.max));
    this.tolerance = options.tolerance ?? 1.25;
    this.minWindowMs = options.minWindowMs ?? 100;
    this.minSamples = options.minSamples ?? 10;
    this.now = options.now;
    this.value = this.clamp(options.initial ?? 2 * this.min);
    this.windowStart = this.now();
  }

  get limit(): number {
    return Math.floor(this.value);
  }

  get baselineMs(): number | undefined {
    return this.baseline;
  }

  onSample(sample: LimitSample): void {
    // Answers to requests sent under an earlier limit say nothing about this one.
    if (sample.startedAt < this.windowStart) return;
    if (sample.overloaded) this.drops++;
    else {
      this.okCount++;
      this.okRttSum += sample.rttMs;
    }
    if (sample.inFlight > this.peakInFlight) this.peakInFlight = sample.inFlight;
    this.backlog = sample.backlog ?? Infinity;
    const samples = this.okCount + this.drops;
    const now = this.now();
    if (
      samples < Math.min(this.minSamples, this.limit) ||
      now - this.windowStart < this.minWindowMs
    ) {
      return;
    }
    this.decide();
    this.windowStart = now;
    this.okCount = 0;
    this.okRttSum = 0;
    this.drops = 0;
    this.peakInFlight = 0;
  }

  private decide(): void {
    const before = this.value;
    let factor = 1;
    const dropRatio = this.drops / (this.okCount + this.drops);
    // A stray timeout among many answers is noise, not overload.
    if (dropRatio >= MIN_DROP_RATIO) factor *= 1 - dropRatio / 2;
    let congestedByLatency = false;
    if (this.okCount > 0) {
      const average = this.okRttSum / this.okCount;
      if (this.baseline === undefined || average < this.baseline) this.baseline = average;
      const threshold = this.baseline * this.tolerance + LATENCY_SLACK_MS;
      if (average > threshold) {
        congestedByLatency = true;
        factor *= threshold / average;
        if (this.limit <= this.min && ++this.congestedAtFloor >= FLOOR_WINDOWS_BEFORE_REBASE) {
          // At the floor our own load is as low as it gets: this is the cluster's no-load latency.
          this.baseline = average;
          this.congestedAtFloor = 0;
        }
      } else this.congestedAtFloor = 0;
    }
    if (factor < 1) {
      this.value = this.clamp(before * Math.max(MAX_CUT, factor));
      this.slowStart = false;
      return;
    }
    if (congestedByLatency) return;
    // App-limited: nothing says the cluster could take more than we already send.
    if (this.peakInFlight * 2 < this.limit) return;
    this.value = this.clamp(
      this.slowStart
        ? Math.max(before * 2, Math.min(before * 4, this.backlog))
        : before + Math.sqrt(before),
    );
  }

  private clamp(value: number): number {
    return Math.min(this.max, Math.max(this.min, value));
  }
}
