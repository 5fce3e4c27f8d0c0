import type { Child } from '../ipc.js';
import type { CapacityOutcome, CapacityRun } from '../processes/capacity-app.js';
import type { BenchResults } from '../report.js';

/*
 * P7–P9: delivery capacity. The app process (pinned like every process under test) feeds its
 * service at a fixed rate; the cluster is a stand-in of its own that answers late (P7), serves only
 * K requests at once (P8), or answers every second request with a 503 (P9). Each configuration gets
 * a fresh app process, so every limit starts from its defaults.
 */

export interface CapacitySettings {
  /** P7's cases: [latency ms, arrivals per second]; the first is reported without a goal. */
  readonly p7: readonly (readonly [number, number])[];
  readonly p7Seconds: number;
  /** Also measure `concurrency: 16` beside each P7 case (full runs). */
  readonly p7Fixed: boolean;
  readonly p8: { capacity: number; serviceMs: number; rate: number; seconds: number };
  readonly p9: { delayMs: number; rate: number; seconds: number };
}

interface StandInStats {
  received: number;
  accepted: number;
  distinctAccepted: number;
  maxInFlight: number;
  latencyP50: number;
  latencyP99: number;
}

/** Starts the capacity app process with `options` (pinned by the caller's `start`). */
export type StartApp = (name: string, options: Record<string, unknown>) => Promise<Child>;

const DEFAULT_MAX_CONCURRENCY = 256;
const FIXED = 16;

export async function benchCapacity(
  standIn: Child<{ url: string }>,
  startApp: StartApp,
  settings: CapacitySettings,
  results: BenchResults,
  log: (line: string) => void,
): Promise<void> {
  const base = {
    clusterUrl: standIn.ready.url,
    allowInsecureClusterUrl: true,
    defaultMarket: 'UK',
  };
  const runOnce = async (
    name: string,
    options: Record<string, unknown>,
    load: CapacityRun,
  ): Promise<CapacityOutcome> => {
    const app = await startApp(name, { ...base, ...options });
    try {
      return await app.call<CapacityOutcome>('run', load);
    } finally {
      await app.stop();
    }
  };
  const stats = (sinceMs?: number) => standIn.call<StandInStats>('stats', { sinceMs });

  // P7: capacity against latency.
  results.p7 = [];
  for (const [latencyMs, rate] of settings.p7) {
    const load = { rate, seconds: settings.p7Seconds, drainMs: 20_000 };
    const configs: ['adaptive' | 'fixed', Record<string, unknown>][] = [['adaptive', {}]];
    if (settings.p7Fixed) configs.push(['fixed', { concurrency: FIXED }]);
    for (const [config, options] of configs) {
      await standIn.call('configure', { delayMs: latencyMs });
      const outcome = await runOnce(`capacity app (${config}, ${latencyMs} ms)`, options, load);
      const seen = await stats();
      results.p7.push({
        latencyMs,
        rate,
        seconds: settings.p7Seconds,
        config,
        ...outcome,
        standInMaxInFlight: seen.maxInFlight,
        littleBoundPerSecond:
          ((config === 'fixed' ? FIXED : DEFAULT_MAX_CONCURRENCY) * 1000) / latencyMs,
      });
      log(
        `P7 ${latencyMs} ms, ${rate}/s, ${config}: ${outcome.sent}/${outcome.enqueued} delivered ` +
          `(dropped ${outcome.dropped}, expired ${outcome.expired}), queue peak ${outcome.peakWaiting}, ` +
          `limit peak ${outcome.peakLimit}, stand-in in flight ≤ ${seen.maxInFlight}`,
      );
    }
  }

  // P8: a cluster that serves only K at once. First its no-load latency, at a trickle.
  const { capacity, serviceMs, rate, seconds } = settings.p8;
  await standIn.call('configure', { delayMs: serviceMs, capacity });
  await runOnce('capacity app (no load)', {}, { rate: 20, seconds: 1, drainMs: 5_000 });
  const noLoad = await stats();
  await standIn.call('configure', { delayMs: serviceMs, capacity });
  const overload = await runOnce('capacity app (overload)', {}, { rate, seconds, drainMs: 30_000 });
  const loaded = await stats(overload.steadyFromMs);
  const capacityPerSecond = (capacity * 1000) / serviceMs;
  results.p8 = {
    capacity,
    serviceMs,
    rate,
    seconds,
    capacityPerSecond,
    deliveredPerSecond: overload.deliveredPerSecond,
    throughputRatio: overload.deliveredPerSecond / capacityPerSecond,
    noLoadLatencyMs: noLoad.latencyP50,
    standInP99Ms: loaded.latencyP99,
    latencyRatio: loaded.latencyP99 / noLoad.latencyP50,
    standInMaxInFlight: loaded.maxInFlight,
    outcome: overload,
  };
  log(
    `P8 capacity ${capacity} × ${serviceMs} ms (${capacityPerSecond}/s), arrivals ${rate}/s: ` +
      `${overload.deliveredPerSecond.toFixed(0)}/s delivered, stand-in p99 ${loaded.latencyP99.toFixed(1)} ms ` +
      `vs ${noLoad.latencyP50.toFixed(1)} ms at no load, limit ${overload.finalLimit} (peak ${overload.peakLimit})`,
  );

  // P9: every second answer a 503.
  const p9 = settings.p9;
  await standIn.call('configure', { delayMs: p9.delayMs, flaky: true });
  const flaky = await runOnce(
    'capacity app (flaky)',
    {},
    { rate: p9.rate, seconds: p9.seconds, drainMs: 30_000 },
  );
  const flakySeen = await stats();
  results.p9 = {
    ...p9,
    outcome: flaky,
    deliveredRatio: flaky.sent / flaky.enqueued,
    distinctAccepted: flakySeen.distinctAccepted,
    attemptsPerNotification: flakySeen.received / flaky.enqueued,
  };
  await standIn.call('configure', {});
  log(
    `P9 every second answer a 503: ${flaky.sent}/${flaky.enqueued} delivered ` +
      `(${flakySeen.distinctAccepted} distinct ids accepted), ` +
      `${(flakySeen.received / flaky.enqueued).toFixed(2)} attempts per notification`,
  );
}
