import { setTimeout as sleep } from 'node:timers/promises';
import type { Child } from '../ipc.js';
import { latencySummary, median, openLoop, poolFor, saturate } from '../load.js';
import type { AppUnderTestOptions, AppUsage } from '../processes/app.js';
import type { DeliveryOptions, Measured } from '../processes/delivery.js';
import type { SdkMetricsUsage } from '../processes/otel-sdk.js';
import type { BenchResults, LatencySummary } from '../report.js';

/*
 * P11: what `metrics: true` costs, with a real OpenTelemetry SDK MeterProvider registered globally
 * (bench/processes/otel-sdk.ts: a periodic reader collecting every second into an in-memory
 * exporter, so every recording is aggregated and every collection runs the package's gauges; a
 * no-op API would cost nothing and make the ratio meaningless). Each comparison is two processes
 * under test that differ only in the module option `metrics`: both register the same SDK. They are
 * pinned alike and measured in alternating rounds of this run, so the machine's noise hits both.
 *
 *   1. P4's delivery loop (undici): the same N notifications through `enqueueNonEsalesClick` and
 *      `flush()`, CPU per notification with metrics on ÷ off. Goal ≤ 1.1.
 *   2. P3's tracked redirect (Express and Fastify, undici): CPU per tracked redirect at P3's rate,
 *      deliveries settled, on ÷ off (both processes run the untracked route too, in the same
 *      pattern; the off process's is the floor that says what share of the package's own cost the
 *      metrics add); then saturated throughput on and off.
 */

export type MetricsPlatform = 'express' | 'fastify';

export interface MetricsSettings {
  /** The SDK reader's collection interval. */
  exportIntervalMs: number;
  p4Count: number;
  /** Runs of each (on and off), alternated. */
  p4Reps: number;
  concurrency: number;
  /** Arrival rate of the CPU rounds (P3's). */
  rate: number;
  rounds: number;
  phaseMs: number;
  warmupMs: number;
  satRounds: number;
  satMs: number;
  platforms: MetricsPlatform[];
}

interface DeliveryFigures {
  wallMs: number;
  cpuMicrosPerNotification: number;
}

export interface P11Results {
  exportIntervalMs: number;
  delivery: {
    transport: 'undici';
    count: number;
    concurrency: number;
    reps: number;
    off: DeliveryFigures;
    on: DeliveryFigures;
    cpuRatio: number;
    wallRatio: number;
    /** CPU per notification of every run, in the order run (rep by rep). */
    runs: { off: number[]; on: number[] };
    /** Each rep's on ÷ off (the two runs next to each other in time): median, least and most. */
    pairedCpuRatio: { median: number; min: number; max: number };
    /** What the on process's SDK exported by the end (proof the metrics were recorded). */
    otelOn: SdkMetricsUsage | undefined;
  };
  apps: {
    platform: MetricsPlatform;
    transport: 'undici';
    rate: number;
    rounds: number;
    phaseMs: number;
    /** The untracked route of the metrics-off process: the floor. */
    untracked: LatencySummary;
    /** The untracked route of the metrics-on process (no notification: only the reader's share). */
    onUntracked: LatencySummary;
    off: LatencySummary;
    on: LatencySummary;
    /** Tracked CPU per redirect, on ÷ off. */
    cpuRatio: number;
    /** On minus off tracked CPU ÷ (off tracked − untracked): the metrics' share of the package's cost. */
    shareOfAdded: number;
    saturation: {
      offPerSecond: number;
      onPerSecond: number;
      ratio: number;
      errors: number;
      dropped: number;
    };
    otelOn: SdkMetricsUsage | undefined;
  }[];
}

export interface MetricsHooks {
  /** Starts P1's app process, pinned as a process under test. */
  startApp: (options: AppUnderTestOptions) => Promise<Child<{ url: string }>>;
  /** Starts P4's delivery process, pinned as a process under test. */
  startDelivery: (options: DeliveryOptions) => Promise<Child>;
}

type Side = 'off' | 'on';
const SIDES: Side[] = ['off', 'on'];
/** Round `round`'s order: off first on even rounds, on first on odd ones. */
const orderOf = <T>(list: T[], round: number): T[] =>
  round % 2 === 0 ? list : [...list].reverse();

interface Totals {
  parts: Float64Array[];
  cpuMicros: number;
  count: number;
  errors: number;
}
const newTotals = (): Totals => ({ parts: [], cpuMicros: 0, count: 0, errors: 0 });
const summaryOf = (t: Totals): LatencySummary => latencySummary(t);
const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

export async function benchMetrics(
  standIn: Child<{ url: string }>,
  hooks: MetricsHooks,
  settings: MetricsSettings,
  results: BenchResults,
  log: (line: string) => void,
): Promise<void> {
  log(
    `\nP11: metrics on ÷ off, with the OpenTelemetry SDK MeterProvider registered ` +
      `(collected every ${settings.exportIntervalMs} ms)`,
  );
  const clusterUrl = standIn.ready.url;
  const sdkMetrics = (side: Side) => ({
    enabled: side === 'on',
    exportIntervalMs: settings.exportIntervalMs,
  });
  /** After a collection interval, so the last collection includes everything sent. */
  const exported = async (child: Child) => {
    await sleep(settings.exportIntervalMs + 100);
    return (await child.call<AppUsage>('usage')).otel;
  };

  // 1. The delivery loop.
  const delivery = async () => {
    const start = (side: Side) =>
      hooks.startDelivery({
        transport: 'undici',
        clusterUrl,
        concurrency: settings.concurrency,
        maxQueueSize: Math.max(settings.p4Count, 10_000),
        sdkMetrics: sdkMetrics(side),
      });
    const [off, on] = await Promise.all([start('off'), start('on')]);
    const children = { off, on };
    try {
      const warm = Math.min(2_000, settings.p4Count);
      for (const side of SIDES) await children[side].call('service', warm);
      const runs = { off: [] as Measured[], on: [] as Measured[] };
      for (let rep = 0; rep < settings.p4Reps; rep++) {
        for (const side of orderOf(SIDES, rep)) {
          runs[side].push(await children[side].call<Measured>('service', settings.p4Count));
        }
      }
      const figures = (list: Measured[]): DeliveryFigures => ({
        wallMs: median(list.map((m) => m.wallMs)),
        cpuMicrosPerNotification: median(list.map((m) => m.cpuMicros / m.count)),
      });
      const cpuOf = (list: Measured[]) => list.map((m) => m.cpuMicros / m.count);
      const perRun = { off: cpuOf(runs.off), on: cpuOf(runs.on) };
      const paired = perRun.on.map((on, k) => on / perRun.off[k]!);
      await sleep(settings.exportIntervalMs + 100);
      const otelOn = await on.call<SdkMetricsUsage | undefined>('otel');
      const result: P11Results['delivery'] = {
        transport: 'undici',
        count: settings.p4Count,
        concurrency: settings.concurrency,
        reps: settings.p4Reps,
        off: figures(runs.off),
        on: figures(runs.on),
        cpuRatio: 0,
        wallRatio: 0,
        runs: perRun,
        pairedCpuRatio: {
          median: median(paired),
          min: Math.min(...paired),
          max: Math.max(...paired),
        },
        otelOn,
      };
      result.cpuRatio = result.on.cpuMicrosPerNotification / result.off.cpuMicrosPerNotification;
      result.wallRatio = result.on.wallMs / result.off.wallMs;
      log(
        `  delivery (undici), ${settings.p4Count} notifications ×${settings.p4Reps}: CPU ` +
          `${fmt(result.off.cpuMicrosPerNotification, 1)} (off) vs ${fmt(result.on.cpuMicrosPerNotification, 1)} ` +
          `µs each (on) = ${fmt(result.cpuRatio)} (paired runs ${fmt(result.pairedCpuRatio.min)}–` +
          `${fmt(result.pairedCpuRatio.max)}); wall ${fmt(result.off.wallMs, 0)} vs ${fmt(result.on.wallMs, 0)} ms` +
          `; ${result.otelOn?.outcomes ?? 0} outcomes exported`,
      );
      return result;
    } finally {
      await Promise.all([off.stop(), on.stop()]);
    }
  };

  // 2. The tracked redirect, per platform.
  const app = async (platform: MetricsPlatform): Promise<P11Results['apps'][number]> => {
    const start = (side: Side) =>
      hooks.startApp({
        platform,
        transport: 'undici',
        clusterUrl,
        // Room for what a saturated phase enqueues faster than a loaded machine delivers it: a
        // dropped notification costs nothing, so drops would flatter one side.
        maxQueueSize: 200_000,
        sdkMetrics: sdkMetrics(side),
      });
    const [off, on] = await Promise.all([start('off'), start('on')]);
    const apps = { off, on };
    const pools = { off: poolFor(off.ready.url), on: poolFor(on.ready.url) };
    try {
      type Route = 'untracked' | 'tracked';
      type Phase = { side: Side; route: Route };
      // Both processes run both routes, in the same pattern, so what one phase leaves to the
      // garbage collector lands alike on both sides.
      const phases: Phase[] = SIDES.flatMap((side) =>
        (['untracked', 'tracked'] as const).map((route) => ({ side, route })),
      );
      const indexOf = (side: Side, route: Route) =>
        phases.findIndex((p) => p.side === side && p.route === route);
      const run = async (phase: Phase, durationMs: number, rate: number, totals: Totals) => {
        const child = apps[phase.side];
        const before = await child.call<AppUsage>('usage');
        const result = await openLoop(
          pools[phase.side],
          (i) => `/${phase.route}/p${i % 1000}/redirect`,
          rate,
          durationMs,
        );
        await child.call('flush', 30_000);
        const after = await child.call<AppUsage>('usage');
        totals.parts.push(result.latencies);
        totals.cpuMicros += after.cpuMicros - before.cpuMicros;
        totals.count += result.latencies.length;
        totals.errors += result.errors;
      };
      // Warm-up: JIT and connection pools, both routes on both sides.
      for (const side of SIDES) {
        for (const route of ['untracked', 'tracked'] as const) {
          await run({ side, route }, settings.warmupMs, 500, newTotals());
        }
      }
      const totals = phases.map(() => newTotals());
      for (let round = 0; round < settings.rounds; round++) {
        // Sides off-on, then on-off; routes swapped every other pair of rounds.
        const routes = orderOf(['untracked', 'tracked'] as Route[], Math.floor(round / 2));
        for (const side of orderOf(SIDES, round)) {
          for (const route of routes) {
            const k = indexOf(side, route);
            await run(phases[k]!, settings.phaseMs, settings.rate, totals[k]!);
          }
        }
      }
      const summaries = totals.map(summaryOf);
      const untracked = summaries[indexOf('off', 'untracked')]!;
      const onUntracked = summaries[indexOf('on', 'untracked')]!;
      const offTracked = summaries[indexOf('off', 'tracked')]!;
      const onTracked = summaries[indexOf('on', 'tracked')]!;

      // Saturated throughput of the tracked route, alternated.
      const saturated = { off: [] as number[], on: [] as number[], errors: 0 };
      const droppedBefore = await Promise.all(
        SIDES.map(async (side) => (await apps[side].call<AppUsage>('usage')).stats.dropped),
      );
      for (let round = 0; round < settings.satRounds; round++) {
        for (const side of orderOf(SIDES, round)) {
          const result = await saturate(
            `${apps[side].ready.url}/tracked/p1/redirect`,
            settings.satMs,
          );
          saturated[side].push(result.perSecond);
          saturated.errors += result.errors;
          await apps[side].call('flush', 60_000);
        }
      }
      const droppedAfter = await Promise.all(
        SIDES.map(async (side) => (await apps[side].call<AppUsage>('usage')).stats.dropped),
      );
      const offPerSecond = median(saturated.off);
      const onPerSecond = median(saturated.on);
      const otelOn = await exported(on);
      const added = offTracked.cpuMicrosPerRequest - untracked.cpuMicrosPerRequest;
      const figures: P11Results['apps'][number] = {
        platform,
        transport: 'undici',
        rate: settings.rate,
        rounds: settings.rounds,
        phaseMs: settings.phaseMs,
        untracked,
        onUntracked,
        off: offTracked,
        on: onTracked,
        cpuRatio: onTracked.cpuMicrosPerRequest / offTracked.cpuMicrosPerRequest,
        shareOfAdded: (onTracked.cpuMicrosPerRequest - offTracked.cpuMicrosPerRequest) / added,
        saturation: {
          offPerSecond,
          onPerSecond,
          ratio: onPerSecond / offPerSecond,
          errors: saturated.errors,
          dropped: droppedAfter[0]! - droppedBefore[0]! + droppedAfter[1]! - droppedBefore[1]!,
        },
        otelOn,
      };
      log(
        `  ${platform}, undici, ${settings.rate} req/s: tracked CPU ${fmt(offTracked.cpuMicrosPerRequest, 1)} ` +
          `(off) vs ${fmt(onTracked.cpuMicrosPerRequest, 1)} µs/redirect (on) = ${fmt(figures.cpuRatio)} ` +
          `(untracked ${fmt(untracked.cpuMicrosPerRequest, 1)} vs ${fmt(onUntracked.cpuMicrosPerRequest, 1)}); saturated ${fmt(offPerSecond, 0)} → ` +
          `${fmt(onPerSecond, 0)} req/s; ${otelOn?.outcomes ?? 0} outcomes exported`,
      );
      return figures;
    } finally {
      await Promise.all([pools.off.close(), pools.on.close()]);
      await Promise.all([off.stop(), on.stop()]);
    }
  };

  const deliveryResult = await delivery();
  const appResults: P11Results['apps'] = [];
  for (const platform of settings.platforms) appResults.push(await app(platform));
  results.p11 = {
    exportIntervalMs: settings.exportIntervalMs,
    delivery: deliveryResult,
    apps: appResults,
  };
}
