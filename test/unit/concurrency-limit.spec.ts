import { describe, expect, it } from '@jest/globals';
import {
  AdaptiveConcurrencyLimit,
  type ConcurrencyLimit,
  FixedConcurrencyLimit,
} from '../../lib/delivery/concurrency-limit.js';

/*
 * The adaptive limit fed synthetic latencies on a synthetic clock: no sockets, no sleeping. A small
 * discrete-event simulation keeps as many attempts in flight as the limit allows (or as the demand
 * has), and feeds each answer back at the moment the simulated cluster gives it.
 */

/** A simulated cluster: when an attempt started at `at` with `inFlight` out is answered, and how. */
type Cluster = (at: number, inFlight: number) => { doneAt: number; overloaded?: boolean };

/** A seeded generator in [0, 1), so every run sees the same jitter. */
let seed = 42;
const noise = (): number => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};

/** Answers after `rttMs`, plus a small jitter, whatever the load. */
const flat =
  (rttMs: number): Cluster =>
  (at) => ({ doneAt: at + rttMs + noise() * 2 });

/** Serves `capacity` requests at once in `serviceMs` each; the rest wait for a free slot (FIFO). */
function overloaded(capacity: number, serviceMs: number): Cluster {
  const freeAt: number[] = Array.from({ length: capacity }, () => 0);
  return (at) => {
    freeAt.sort((a, b) => a - b);
    const start = Math.max(at, freeAt[0]!);
    freeAt[0] = start + serviceMs;
    return { doneAt: start + serviceMs };
  };
}

interface Run {
  /** The limit after each answer, with the clock. */
  readonly limits: { at: number; limit: number }[];
  /** Each answer's latency, with when it was answered. */
  readonly latencies: { at: number; ms: number }[];
}

/** Runs the loop for `durationMs` of simulated time; `demand` caps what the app has to send. */
function simulate(
  limit: AdaptiveConcurrencyLimit,
  clock: { now: number },
  durationMs: number,
  cluster: Cluster,
  demand = Infinity,
): Run {
  const run: Run = { limits: [], latencies: [] };
  const pending: { doneAt: number; startedAt: number; inFlight: number; overloaded: boolean }[] =
    [];
  const end = clock.now + durationMs;
  const fill = () => {
    while (pending.length < Math.min(limit.limit, demand)) {
      const inFlight = pending.length + 1;
      const { doneAt, overloaded = false } = cluster(clock.now, inFlight);
      pending.push({ doneAt, startedAt: clock.now, inFlight, overloaded });
    }
    pending.sort((a, b) => a.doneAt - b.doneAt);
  };
  fill();
  while (clock.now < end && pending.length > 0) {
    const next = pending.shift()!;
    clock.now = next.doneAt;
    const rttMs = next.doneAt - next.startedAt;
    limit.onSample({
      startedAt: next.startedAt,
      rttMs,
      inFlight: next.inFlight,
      overloaded: next.overloaded,
    });
    run.limits.push({ at: clock.now, limit: limit.limit });
    run.latencies.push({ at: clock.now, ms: rttMs });
    fill();
  }
  return run;
}

const adaptive = (min = 16, max = 256) => {
  const clock = { now: 0 };
  return { clock, limit: new AdaptiveConcurrencyLimit({ min, max, now: () => clock.now }) };
};

/** The limit at simulated time `at`. */
const limitAt = (run: Run, at: number): number =>
  run.limits.filter((l) => l.at <= at).at(-1)?.limit ?? NaN;

describe('FixedConcurrencyLimit', () => {
  it('stays where it was set, whatever the samples say', () => {
    const limit = new FixedConcurrencyLimit(16);
    const sample = { startedAt: 0, rttMs: 10_000, inFlight: 16, overloaded: true };
    (limit as ConcurrencyLimit).onSample(sample);
    expect(limit.limit).toBe(16);
    expect(limit.baselineMs).toBeUndefined();
  });
});

describe('AdaptiveConcurrencyLimit', () => {
  it('starts at twice the floor, within the ceiling', () => {
    expect(adaptive(16, 256).limit.limit).toBe(32);
    expect(adaptive(16, 20).limit.limit).toBe(20);
    expect(adaptive(1, 1).limit.limit).toBe(1);
  });

  it.each([10, 50, 250, 1_000])(
    'grows to the ceiling against a healthy cluster that answers in a flat %i ms (a long round trip is not overload)',
    (rttMs) => {
      const { clock, limit } = adaptive();
      const run = simulate(limit, clock, 20 * Math.max(rttMs, 100), flat(rttMs));
      expect(limit.limit).toBe(256);
      expect(limit.baselineMs).toBeGreaterThanOrEqual(rttMs);
      expect(limit.baselineMs).toBeLessThan(rttMs + 2);
      // Slow start with a backlog: fourfold about once per round trip (or per 100 ms window), so a
      // burst is carried within a few round trips: 32 → 128 → 256.
      expect(limitAt(run, 3.5 * Math.max(rttMs, 100))).toBe(256);
    },
  );

  it('only doubles in slow start when there is no backlog beyond that', () => {
    const { clock, limit } = adaptive();
    simulate(limit, clock, 150, flat(100));
    expect(limit.limit).toBe(128);
    const { clock: clock2, limit: limit2 } = adaptive();
    for (let i = 0; i < 10; i++) {
      clock2.now += 20;
      limit2.onSample({ startedAt: 0, rttMs: 100, inFlight: 32, overloaded: false, backlog: 40 });
    }
    expect(limit2.limit).toBe(64);
  });

  it('does not grow while the app sends less than half the limit (app-limited)', () => {
    const { clock, limit } = adaptive();
    simulate(limit, clock, 5_000, flat(50), 10);
    expect(limit.limit).toBe(32);
  });

  it.each([8, 20, 60, 150])(
    'settles near what an overloaded cluster serves (%i at once in 40 ms, the rest queue)',
    (capacity) => {
      const { clock, limit } = adaptive(4, 512);
      const run = simulate(limit, clock, 30_000, overloaded(capacity, 40));
      const settled = run.limits.filter((l) => l.at > 10_000).map((l) => l.limit);
      const mean = settled.reduce((sum, l) => sum + l, 0) / settled.length;
      // Enough in flight to keep the cluster busy, not so much that requests pile up behind it.
      expect(mean).toBeGreaterThanOrEqual(capacity * 0.9);
      // It settles where latency reaches `tolerance × baseline` (1.25, plus 2 ms of slack): about
      // 1.3 times what the cluster serves at once.
      expect(mean).toBeLessThanOrEqual(capacity * 1.6);
      expect(Math.max(...settled)).toBeLessThan(capacity * 2);
      const latencies = run.latencies.filter((l) => l.at > 10_000).map((l) => l.ms);
      latencies.sort((a, b) => a - b);
      expect(latencies[Math.floor(latencies.length * 0.99)]).toBeLessThanOrEqual(80);
      expect(limit.baselineMs).toBeGreaterThanOrEqual(40);
      expect(limit.baselineMs).toBeLessThan(50);
    },
  );

  it('shrinks to the floor when every second answer is overload (5xx, 429, timeout)', () => {
    const { clock, limit } = adaptive(16, 256);
    simulate(limit, clock, 2_000, flat(20));
    expect(limit.limit).toBe(256);
    let count = 0;
    const flaky: Cluster = (at) => ({ doneAt: at + 20, overloaded: count++ % 2 === 0 });
    const run = simulate(limit, clock, 2_000, flaky);
    // × (1 - 0.5 / 2) per window.
    const firstCut = run.limits.find((l) => l.limit !== 256)?.limit;
    expect(firstCut).toBeGreaterThanOrEqual(185);
    expect(firstCut).toBeLessThanOrEqual(192);
    expect(limit.limit).toBe(16);
  });

  it('ignores a few stray timeouts among many answers', () => {
    const { clock, limit } = adaptive(16, 256);
    let count = 0;
    simulate(limit, clock, 3_000, (at) => ({ doneAt: at + 20, overloaded: ++count % 100 === 0 }));
    expect(limit.limit).toBe(256);
  });

  it('takes its baseline from a window average, not from one lucky fast answer', () => {
    const { clock, limit } = adaptive();
    let count = 0;
    simulate(limit, clock, 3_000, (at) => ({ doneAt: at + (count++ === 0 ? 5 : 300) }));
    expect(limit.baselineMs).toBeGreaterThan(250);
    expect(limit.limit).toBe(256);
  });

  it('ignores answers to attempts started before the current window opened', () => {
    const { clock, limit } = adaptive();
    simulate(limit, clock, 150, flat(100));
    expect(limit.limit).toBe(128);
    // Late answers from before that decision, however slow or failed, change nothing.
    for (let i = 0; i < 50; i++) {
      clock.now += 10;
      limit.onSample({ startedAt: 0, rttMs: 5_000, inFlight: 32, overloaded: true });
    }
    expect(limit.limit).toBe(128);
  });

  it('measures the baseline again when latency stays high at the floor (the cluster got slower)', () => {
    const { clock, limit } = adaptive(16, 256);
    simulate(limit, clock, 2_000, flat(20));
    expect(limit.baselineMs).toBeLessThan(22);
    // The cluster moved an ocean away: 250 ms, whatever the load.
    simulate(limit, clock, 5_000, flat(250));
    expect(limit.baselineMs).toBeGreaterThanOrEqual(250);
    simulate(limit, clock, 15_000, flat(250));
    expect(limit.limit).toBe(256);
  });
});
