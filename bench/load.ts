import autocannon from 'autocannon';
import { Pool } from 'undici';
import type { LatencySummary } from './report.js';

/*
 * Load for the app under test. Latency is timed here, per request, with `performance.now()`, on an
 * open-loop schedule: requests leave at a fixed arrival rate whether or not earlier ones have been
 * answered, and each is timed from when it was due, so neither a slow answer nor a late generator
 * hides a wait (no coordinated omission). The schedule runs on a 1 ms timer, so at 2 000 req/s
 * requests leave in pairs. Saturation throughput (closed loop) uses autocannon.
 */

/** A browser's user agent (curl's and Node's count as bots) and a returning visitor's cookies. */
export const VISITOR_HEADERS: Readonly<Record<string, string>> = {
  'user-agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  cookie:
    'apptus.customerKey=d9528030-509c-4e0f-b585-7168f1e9feca; apptus.sessionKey=b106299c-eac0-4f6f-96d2-93e57c255784',
};

export interface OpenLoopResult {
  /** Milliseconds per answered request, in the order they were sent. */
  latencies: Float64Array;
  /** Requests that failed or were not answered with the expected status. */
  errors: number;
}

/** Sends `rate` requests per second for `durationMs` to `path`, timing each one. */
export function openLoop(
  pool: Pool,
  path: (i: number) => string,
  rate: number,
  durationMs: number,
  expectedStatus = 302,
): Promise<OpenLoopResult> {
  const count = Math.max(1, Math.round((rate * durationMs) / 1000));
  const latencies = new Float64Array(count);
  let errors = 0;
  return new Promise((resolve) => {
    let sent = 0;
    let settled = 0;
    const settle = () => {
      if (++settled === count) resolve({ latencies, errors });
    };
    const started = performance.now();
    const fire = (i: number) => {
      // Timed from when the request was due, not from when it left: a generator running late must
      // not hide the wait (coordinated omission). At 2 000 req/s on a 1 ms timer that adds up to
      // 0.5 ms to half the requests, tracked or not.
      const due = started + (i * 1000) / rate;
      pool.request({ method: 'GET', path: path(i), headers: VISITOR_HEADERS }).then(
        async (response) => {
          await response.body.dump();
          latencies[i] = performance.now() - due;
          if (response.statusCode !== expectedStatus) errors++;
          settle();
        },
        () => {
          latencies[i] = Number.NaN;
          errors++;
          settle();
        },
      );
    };
    const tick = () => {
      const dueCount = Math.min(
        count,
        Math.floor(((performance.now() - started) * rate) / 1000) + 1,
      );
      while (sent < dueCount) fire(sent++);
      if (sent < count) setTimeout(tick, 1);
    };
    tick();
  });
}

/** A keep-alive connection pool to the app, wide enough that the open loop never queues in it. */
export const poolFor = (url: string) =>
  new Pool(url, { connections: 512, pipelining: 1, keepAliveTimeout: 30_000 });

/** Closed-loop saturation: answered requests per second over `durationMs`. */
export async function saturate(
  url: string,
  durationMs: number,
  connections = 32,
): Promise<{ perSecond: number; errors: number }> {
  const result = await autocannon({
    url,
    connections,
    duration: durationMs / 1000,
    headers: { ...VISITOR_HEADERS },
  });
  const errors = result.errors + result.timeouts + result['4xx'] + result['5xx'] + result['2xx'];
  return { perSecond: result['3xx'] / result.duration, errors };
}

/** Percentile `q` (0–1) of already sorted values: nearest rank. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Sorted copy without the failed requests. */
export function sortedLatencies(parts: Float64Array[]): Float64Array {
  const all = Float64Array.from(parts.flatMap((part) => Array.from(part)).filter(Number.isFinite));
  return all.sort();
}

/** Latencies and CPU gathered over one or more rounds of a phase. */
export interface LatencyTotals {
  parts: Float64Array[];
  cpuMicros: number;
  count: number;
  errors: number;
}

/** The summary the report shows for `totals`, with the sorted latencies (for the chart). */
export function latencySummaryOf(totals: LatencyTotals): LatencySummary & { sorted: Float64Array } {
  const sorted = sortedLatencies(totals.parts);
  return {
    n: totals.count,
    errors: totals.errors,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    cpuMicrosPerRequest: totals.cpuMicros / Math.max(1, totals.count),
    sorted,
  };
}

/** The same summary without the latencies: what the results file keeps. */
export function latencySummary(totals: LatencyTotals): LatencySummary {
  const summary: Partial<ReturnType<typeof latencySummaryOf>> = latencySummaryOf(totals);
  delete summary.sorted;
  return summary as LatencySummary;
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
