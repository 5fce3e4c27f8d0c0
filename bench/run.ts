import { execFileSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Pool } from 'undici';
import { CustomerKeyAuthentication } from '../lib/auth/customer-key-authentication.js';
import { MessageAuthentication } from '../lib/auth/message-authentication.js';
import { latencyChartSvg, type ChartPanel } from './chart.js';
import { benchBullmq, type BullmqSettings } from './measures/bullmq.js';
import { benchCapacity, type CapacitySettings } from './measures/capacity.js';
import { benchMetrics, type MetricsSettings } from './measures/metrics.js';
import { Child } from './ipc.js';
import {
  latencySummaryOf,
  median,
  openLoop,
  percentile,
  poolFor,
  saturate,
  sortedLatencies,
  type LatencyTotals,
} from './load.js';
import type { AppUnderTestOptions, AppUsage } from './processes/app.js';
import type { AnchorOptions } from './processes/bullmq-anchor.js';
import type { DeliveryOptions, Measured } from './processes/delivery.js';
import { writeReport, type BenchResults, type LatencySummary, type P5Sample } from './report.js';

/*
 * `npm run bench`: every measure of BENCHMARKS.md in one run, on loopback. This process is the load
 * generator and the orchestrator; the app under test, the delivery loop (P4) and the stand-in for
 * the Elevate cluster each run in a process of their own. On a machine with two or more cores the
 * process under test is pinned to core 0 and everything else to core 1, so its CPU and latency are
 * its own. Every figure that matters is a ratio or a difference of two things measured in this run.
 *
 *   --full     twice the rounds, twice as long, and the axios transport on Fastify too (about 10
 *              minutes)
 *   --smoke    a fraction of a second per measure, to keep the script working (CI); writes
 *              bench/results/smoke and never touches BENCHMARKS.md
 *   --only=P1,P3  only these measures; writes bench/results/partial (P11, metrics on ÷ off with the
 *              OpenTelemetry SDK registered, takes about 80 s)
 *   --report   no measuring: rewrites BENCHMARKS.md's table from bench/results/latest.json
 *   --profile  run the app under test with --cpu-prof (profiles in bench/results/profiles; the
 *              figures, skewed by the profiler, go to bench/results/partial)
 */

type Mode = 'quick' | 'full' | 'smoke';
const P2_DELAY_MS = 250;
const CONCURRENCY = 16;
const ALL_MEASURES = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8', 'P9', 'P10', 'P11'];
const argv = process.argv.slice(2);
const mode: Mode = argv.includes('--smoke') ? 'smoke' : argv.includes('--full') ? 'full' : 'quick';
const profile = argv.includes('--profile');
/** `--only=P1,P4`: run only these measures (the report then has only their rows). */
const only = new Set(
  (argv.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? ALL_MEASURES.join(','))
    .toUpperCase()
    .split(','),
);
const wants = (id: string) => only.has(id);

interface BenchSettings {
  rounds: number;
  phaseMs: number;
  warmupMs: number;
  satRounds: number;
  satMs: number;
  p4Count: number;
  p4Reps: Record<Transport, number>;
  p5: { rate: number; beforeMs: number; outageMs: number; afterMs: number; sampleMs: number };
  p6Count: number;
  capacity: CapacitySettings;
  p10: BullmqSettings;
  p11: MetricsSettings;
  apps: [Platform, Transport][];
}

/**
 * P7's cases, [cluster latency ms, arrivals per second]: each above what 16 in flight carry
 * (`16 ÷ latency`: 1 600, 320, 64 and 16 per second). The 10 ms case has no goal.
 */
const P7_CASES = [
  [10, 2_000],
  [50, 2_000],
  [250, 500],
  [1_000, 200],
] as const;

const ALL_SETTINGS = {
  quick: {
    rounds: 2,
    phaseMs: 2_000,
    warmupMs: 500,
    satRounds: 1,
    satMs: 1_500,
    p4Count: 20_000,
    p4Reps: { undici: 2, axios: 1 },
    p5: { rate: 1_000, beforeMs: 2_000, outageMs: 30_000, afterMs: 4_000, sampleMs: 1_000 },
    p6Count: 100_000,
    capacity: {
      p7: P7_CASES,
      p7Seconds: 5,
      p7Fixed: false,
      p8: { capacity: 32, serviceMs: 50, rate: 1_000, seconds: 5 },
      p9: { delayMs: 10, rate: 500, seconds: 4 },
    },
    p10: {
      rate: 500,
      rounds: 3,
      phaseMs: 4_000,
      warmupMs: 1_000,
      downRounds: 2,
      burst: 20_000,
      burstReps: 2,
      chunk: 500,
      anchorCount: 20_000,
      memoryCount: 10_000,
    },
    p11: {
      exportIntervalMs: 1_000,
      p4Count: 20_000,
      p4Reps: 8,
      concurrency: CONCURRENCY,
      rate: 2_000,
      rounds: 2,
      phaseMs: 2_000,
      warmupMs: 500,
      satRounds: 2,
      satMs: 1_500,
      platforms: ['express', 'fastify'],
    },
    /** Apps measured: the axios transport on Express only, to stay within 3 minutes. */
    apps: [
      ['express', 'undici'],
      ['express', 'axios'],
      ['fastify', 'undici'],
    ],
  },
  full: {
    rounds: 4,
    phaseMs: 4_000,
    warmupMs: 2_000,
    satRounds: 3,
    satMs: 4_000,
    p4Count: 20_000,
    p4Reps: { undici: 4, axios: 2 },
    p5: { rate: 1_000, beforeMs: 10_000, outageMs: 30_000, afterMs: 15_000, sampleMs: 1_000 },
    p6Count: 300_000,
    capacity: {
      p7: P7_CASES,
      p7Seconds: 12,
      p7Fixed: true,
      p8: { capacity: 32, serviceMs: 50, rate: 1_000, seconds: 12 },
      p9: { delayMs: 10, rate: 500, seconds: 10 },
    },
    p10: {
      rate: 500,
      rounds: 4,
      phaseMs: 4_000,
      warmupMs: 2_000,
      downRounds: 2,
      burst: 20_000,
      burstReps: 3,
      chunk: 500,
      anchorCount: 20_000,
      memoryCount: 10_000,
    },
    p11: {
      exportIntervalMs: 1_000,
      p4Count: 20_000,
      p4Reps: 10,
      concurrency: CONCURRENCY,
      rate: 2_000,
      rounds: 2,
      phaseMs: 2_500,
      warmupMs: 1_000,
      satRounds: 2,
      satMs: 2_000,
      platforms: ['express', 'fastify'],
    },
    apps: [
      ['express', 'undici'],
      ['express', 'axios'],
      ['fastify', 'undici'],
      ['fastify', 'axios'],
    ],
  },
  smoke: {
    rounds: 1,
    phaseMs: 200,
    warmupMs: 100,
    satRounds: 1,
    satMs: 300,
    p4Count: 300,
    p4Reps: { undici: 1, axios: 1 },
    p5: { rate: 200, beforeMs: 300, outageMs: 1_000, afterMs: 1_000, sampleMs: 250 },
    p6Count: 2_000,
    capacity: {
      p7: [[50, 500]],
      p7Seconds: 0.5,
      p7Fixed: false,
      p8: { capacity: 8, serviceMs: 20, rate: 500, seconds: 1.2 },
      p9: { delayMs: 5, rate: 200, seconds: 0.5 },
    },
    p10: {
      rate: 200,
      rounds: 1,
      phaseMs: 300,
      warmupMs: 100,
      downRounds: 1,
      burst: 600,
      burstReps: 1,
      chunk: 100,
      anchorCount: 1_000,
      memoryCount: 1_000,
    },
    p11: {
      exportIntervalMs: 200,
      p4Count: 300,
      p4Reps: 1,
      concurrency: CONCURRENCY,
      rate: 500,
      rounds: 1,
      phaseMs: 200,
      warmupMs: 100,
      satRounds: 1,
      satMs: 300,
      platforms: ['express'],
    },
    apps: [
      ['express', 'undici'],
      ['fastify', 'axios'],
    ],
  },
} satisfies Record<Mode, BenchSettings>;
const SETTINGS: BenchSettings = ALL_SETTINGS[mode];

type Platform = 'express' | 'fastify';
type Transport = 'undici' | 'axios';
/** P1's arrival rates for the default transport; P2 uses the first, P3's CPU the last. */
const RATES = [500, 2_000];
/**
 * The axios transport costs about 5x the CPU per notification: at 2 000 tracked redirects a second
 * Express runs out of CPU, so it is measured at 500 only.
 */
const AXIOS_RATES = [500];
const TRANSPORTS: Transport[] = ['undici', 'axios'];

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const complete = ALL_MEASURES.every(wants);
/** Only a complete quick or full run replaces the committed results and BENCHMARKS.md. */
const official = mode !== 'smoke' && complete && !profile;
const outDir = join(
  root,
  'bench',
  'results',
  ...(mode === 'smoke' ? ['smoke'] : official ? [] : ['partial']),
);
const profileDir = join(root, 'bench', 'results', 'profiles');
mkdirSync(outDir, { recursive: true });
const logFile = join(outDir, 'processes.log');
rmSync(logFile, { force: true });

const cores = os.availableParallelism();
const pinned = cores >= 2 && hasTaskset();
function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
/** Pins every thread of `pid` to one core (no-op on a single core or without taskset). */
function pin(pid: number | undefined, core: number): void {
  if (!pinned || pid === undefined) return;
  execFileSync('taskset', ['-a', '-c', '-p', String(core), String(pid)], { stdio: 'ignore' });
}
const UNDER_TEST_CORE = 0;
const OTHER_CORE = 1;

const log = (line: string) => console.log(line);
const processFile = (name: string) => join(here, 'processes', `${name}.js`);

async function startStandIn(): Promise<Child<{ url: string }>> {
  const child = await Child.start<{ url: string }>('stand-in', processFile('stand-in'), [], {
    logFile,
  });
  pin(child.pid, OTHER_CORE);
  return child;
}

async function startApp(
  options: AppUnderTestOptions,
  extraExecArgv: string[] = [],
): Promise<Child<{ url: string }>> {
  const execArgv = [...extraExecArgv];
  if (profile) execArgv.push('--cpu-prof', '--cpu-prof-dir', profileDir);
  const child = await Child.start<{ url: string }>(
    `app (${options.platform}, ${options.transport}${options.bullmq ? ', bullmq' : ''}` +
      `${options.sdkMetrics ? `, metrics ${options.sdkMetrics.enabled ? 'on' : 'off'}` : ''})`,
    processFile('app'),
    [JSON.stringify(options)],
    { logFile, execArgv },
  );
  pin(child.pid, UNDER_TEST_CORE);
  return child;
}

async function startDelivery(options: DeliveryOptions): Promise<Child> {
  const child = await Child.start('delivery', processFile('delivery'), [JSON.stringify(options)], {
    logFile,
  });
  pin(child.pid, UNDER_TEST_CORE);
  return child;
}

// ---------------------------------------------------------------------------------------------
// P1–P3: one app process per platform and transport.

type PhaseTotals = LatencyTotals;
const summarise = latencySummaryOf;

type Variant = 'off' | 'on' | 'raw';
const ROUTES: Record<Variant, string> = { off: 'untracked', on: 'tracked', raw: 'raw-post' };
type Summary = ReturnType<typeof summarise>;

/**
 * Rounds of the variants, their order rotated each round so drift on a shared machine hits all
 * alike: `off` (untracked), `on` (tracked) and, when asked, `raw` (untracked plus a raw POST).
 * With `settle`, each phase waits for its POSTs to settle before reading the CPU, so a tracked
 * phase's CPU includes its deliveries. Also returns each round's untracked p99, to show the noise.
 */
async function rounds(
  app: Child,
  pool: Pool,
  rate: number,
  variants: Variant[],
  settle: boolean,
  between: () => Promise<void> = async () => {},
): Promise<Record<Variant, Summary | undefined> & { offRoundP99s: number[] }> {
  const totals = new Map<Variant, PhaseTotals>(
    variants.map((v) => [v, { parts: [], cpuMicros: 0, count: 0, errors: 0 }]),
  );
  const offRoundP99s: number[] = [];
  for (let round = 0; round < SETTINGS.rounds; round++) {
    // Rotated each round and reversed every other round, so no variant always follows the same one
    // (what one phase leaves to the garbage collector lands in the next).
    const rotated = variants.map((_, i) => variants[(i + round) % variants.length]!);
    const order = round % 2 === 0 ? rotated : rotated.reverse();
    for (const variant of order) {
      await between();
      const before = await app.call<AppUsage>('usage');
      const result = await openLoop(
        pool,
        (i) => `/${ROUTES[variant]}/p${i % 1000}/redirect`,
        rate,
        SETTINGS.phaseMs,
      );
      if (settle) await app.call('flush', 30_000);
      const after = await app.call<AppUsage>('usage');
      const total = totals.get(variant)!;
      total.parts.push(result.latencies);
      total.cpuMicros += after.cpuMicros - before.cpuMicros;
      total.count += result.latencies.length;
      total.errors += result.errors;
      if (variant === 'off')
        offRoundP99s.push(percentile(sortedLatencies([result.latencies]), 0.99));
    }
  }
  const summary = (v: Variant) => {
    const total = totals.get(v);
    return total ? summarise(total) : undefined;
  };
  return { off: summary('off'), on: summary('on'), raw: summary('raw'), offRoundP99s };
}

async function benchApp(
  platform: Platform,
  transport: Transport,
  standIn: Child<{ url: string }>,
  results: BenchResults,
  panels: ChartPanel[],
): Promise<void> {
  log(`\n${platform} + ${transport} transport`);
  const app = await startApp({ platform, transport, clusterUrl: standIn.ready.url });
  const pool = poolFor(app.ready.url);
  try {
    // Warm-up: JIT, connection pools on both sides.
    for (const route of Object.values(ROUTES)) {
      await openLoop(pool, (i) => `/${route}/p${i}/redirect`, RATES[0]!, SETTINGS.warmupMs);
    }
    await app.call('flush', 30_000);

    // P1, and P3's CPU at the highest rate (with the raw-POST route as the yardstick).
    const rates = transport === 'undici' ? RATES : AXIOS_RATES;
    for (const rate of wants('P1') || wants('P3') ? rates : []) {
      const cpuRate = rate === rates[rates.length - 1] && wants('P3');
      if (!wants('P1') && !cpuRate) continue;
      const measured = await rounds(
        app,
        pool,
        rate,
        cpuRate ? ['off', 'on', 'raw'] : ['off', 'on'],
        true,
      );
      const off = measured.off!;
      const on = measured.on!;
      const noise = Math.max(...measured.offRoundP99s) - Math.min(...measured.offRoundP99s);
      results.p1.push({
        platform,
        transport,
        rate,
        off: strip(off),
        on: strip(on),
        ...(measured.raw ? { raw: strip(measured.raw) } : {}),
        p50Diff: on.p50 - off.p50,
        p99Diff: on.p99 - off.p99,
        untrackedP99Spread: measured.offRoundP99s.length > 1 ? noise : undefined,
      });
      log(
        `  P1 ${rate} req/s: p50 ${fmt(off.p50)} → ${fmt(on.p50)} ms, p99 ${fmt(off.p99)} → ${fmt(on.p99)} ms;` +
          ` CPU ${fmt(off.cpuMicrosPerRequest, 1)} → ${fmt(on.cpuMicrosPerRequest, 1)} µs/redirect` +
          (measured.raw ? ` (raw POST route ${fmt(measured.raw.cpuMicrosPerRequest, 1)})` : ''),
      );
      if (transport === 'undici') {
        panels.push({
          title: `${platform}, ${rate} req/s (open loop)`,
          series: [
            { label: 'untracked', color: '#1f77b4', sorted: off.sorted },
            { label: '@TrackNonEsalesClick', color: '#d62728', sorted: on.sorted },
          ],
        });
      }
    }

    // P2: the cluster answers 250 ms late. The queue takes the wait; the redirect must not.
    if (transport === 'undici' && wants('P2')) {
      const rate = RATES[0]!;
      // Each phase starts with an empty queue: the backlog a tracked phase leaves (16 deliveries of
      // 250 ms each cannot keep up with 500 clicks a second) is delivered at full speed in between,
      // so it never weighs on the next untracked phase.
      const drain = async () => {
        await standIn.call('delay', 0);
        await app.call('flush', 60_000);
        await standIn.call('delay', P2_DELAY_MS);
      };
      const measured = await rounds(app, pool, rate, ['off', 'on'], false, drain);
      const off = measured.off!;
      const on = measured.on!;
      await standIn.call('delay', P2_DELAY_MS);
      const naiveRun = await openLoop(
        pool,
        (i) => `/naive/p${i % 1000}/redirect`,
        rate,
        SETTINGS.phaseMs,
      );
      const naive = summarise({
        parts: [naiveRun.latencies],
        cpuMicros: 0,
        count: naiveRun.latencies.length,
        errors: naiveRun.errors,
      });
      await standIn.call('delay', 0);
      await app.call('flush', 60_000);
      results.p2.push({
        platform,
        transport,
        rate,
        delayMs: P2_DELAY_MS,
        off: strip(off),
        on: strip(on),
        p99Diff: on.p99 - off.p99,
        untrackedP99Spread:
          measured.offRoundP99s.length > 1
            ? Math.max(...measured.offRoundP99s) - Math.min(...measured.offRoundP99s)
            : undefined,
        naive: strip(naive),
      });
      log(
        `  P2 cluster +${P2_DELAY_MS} ms: p99 ${fmt(off.p99)} → ${fmt(on.p99)} ms; naive handler p99 ${fmt(naive.p99)} ms`,
      );
    }

    // P3 (saturation): closed loop, tracked and untracked alternated.
    if (wants('P3')) {
      const saturated = { off: [] as number[], on: [] as number[], errors: 0 };
      const droppedBefore = (await app.call<AppUsage>('usage')).stats.dropped;
      for (let round = 0; round < SETTINGS.satRounds; round++) {
        const order = round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
        for (const variant of order) {
          const url = `${app.ready.url}/${ROUTES[variant]}/p1/redirect`;
          const result = await saturate(url, SETTINGS.satMs);
          saturated[variant].push(result.perSecond);
          saturated.errors += result.errors;
          await app.call('flush', 60_000);
        }
      }
      const dropped = (await app.call<AppUsage>('usage')).stats.dropped - droppedBefore;
      results.saturation.push({
        platform,
        transport,
        offPerSecond: median(saturated.off),
        onPerSecond: median(saturated.on),
        errors: saturated.errors,
        dropped,
      });
      log(
        `  P3 saturated: ${fmt(median(saturated.off), 0)} → ${fmt(median(saturated.on), 0)} req/s` +
          (dropped ? ` (${dropped} notifications dropped: queue full)` : ''),
      );
    }
  } finally {
    await pool.close();
    await app.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// P4: the service against a raw undici loop, in one process.

async function benchDelivery(
  transport: Transport,
  standIn: Child<{ url: string }>,
  results: BenchResults,
): Promise<void> {
  const options: DeliveryOptions = {
    transport,
    clusterUrl: standIn.ready.url,
    concurrency: CONCURRENCY,
    maxQueueSize: Math.max(SETTINGS.p4Count, 10_000),
  };
  const child = await startDelivery(options);
  try {
    const warm = Math.min(2_000, SETTINGS.p4Count);
    await child.call('raw', warm);
    await child.call('service', warm);
    const service: Measured[] = [];
    const raw: Measured[] = [];
    for (let rep = 0; rep < SETTINGS.p4Reps[transport]; rep++) {
      const order = rep % 2 === 0 ? (['raw', 'service'] as const) : (['service', 'raw'] as const);
      for (const which of order) {
        const measured = await child.call<Measured>(which, SETTINGS.p4Count);
        (which === 'raw' ? raw : service).push(measured);
      }
    }
    const perItem = (runs: Measured[]) => ({
      wallMs: median(runs.map((m) => m.wallMs)),
      cpuMicrosPerNotification: median(runs.map((m) => m.cpuMicros / m.count)),
    });
    const s = perItem(service);
    const r = perItem(raw);
    results.p4.push({
      transport,
      count: SETTINGS.p4Count,
      concurrency: CONCURRENCY,
      service: s,
      raw: r,
      wallRatio: s.wallMs / r.wallMs,
      cpuRatio: s.cpuMicrosPerNotification / r.cpuMicrosPerNotification,
    });
    log(
      `P4 ${transport}: ${SETTINGS.p4Count} notifications in ${fmt(s.wallMs, 0)} ms vs raw ${fmt(r.wallMs, 0)} ms;` +
        ` CPU ${fmt(s.cpuMicrosPerNotification, 1)} vs ${fmt(r.cpuMicrosPerNotification, 1)} µs each`,
    );
  } finally {
    await child.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// P5: an outage of the cluster while clicks keep coming.

async function benchOutage(standIn: Child<{ url: string }>, results: BenchResults): Promise<void> {
  const { rate, beforeMs, outageMs, afterMs, sampleMs } = SETTINGS.p5;
  log(`\nP5: clicks at ${rate}/s, cluster refusing connections for ${outageMs / 1000} s`);
  const app = await startApp(
    {
      platform: 'express',
      transport: 'undici',
      clusterUrl: standIn.ready.url,
      // The smoke run's outage is shorter than the default 5 s cooldown.
      ...(mode === 'smoke' ? { breakerCooldownMs: 300 } : {}),
    },
    ['--expose-gc'],
  );
  const pool = poolFor(app.ready.url);
  try {
    await openLoop(pool, (i) => `/tracked/p${i}/redirect`, rate, SETTINGS.warmupMs);
    await app.call('flush', 30_000);
    const samples: P5Sample[] = [];
    const started = performance.now();
    let phase: 'before' | 'outage' | 'after' = 'before';
    const sample = async () => {
      // Memory after a full GC: what the process holds on to, not what it has yet to collect.
      const usage = await app.call<AppUsage>('usage', { gc: true });
      samples.push({
        t: (performance.now() - started) / 1000,
        phase,
        rss: usage.rss,
        heapUsed: usage.heapUsed,
        queued: usage.stats.queued,
        inFlight: usage.stats.inFlight,
        sent: usage.stats.sent,
        dropped: usage.stats.dropped,
        expired: usage.stats.expired,
        failed: usage.stats.failed,
        breaker: usage.stats.breaker,
      });
    };
    await sample();
    const load = openLoop(
      pool,
      (i) => `/tracked/p${i % 1000}/redirect`,
      rate,
      beforeMs + outageMs + afterMs,
    );
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await sleep(sampleMs);
        await sample();
      }
    })();
    await sleep(beforeMs);
    await standIn.call('outage');
    phase = 'outage';
    await sleep(outageMs);
    await sample();
    await standIn.call('restore');
    phase = 'after';
    const loadResult = await load;
    sampling = false;
    await sampler;
    const drained = await app.call<boolean>('flush', 60_000);
    await sample();
    results.p5 = {
      rate,
      outageMs,
      maxQueueSize: (await app.call<AppUsage>('usage')).stats.maxQueueSize,
      clicks: loadResult.latencies.length,
      redirectErrors: loadResult.errors,
      drained,
      samples,
    };
  } finally {
    await pool.close();
    await app.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// P6: token generation against raw node:crypto, in this process, alternated.

function benchTokens(results: BenchResults): void {
  const privateKey = 'bench-private-key-0123456789';
  const visitorIds = Array.from({ length: 1_000 }, (_, i) => `visitor-${i}-${'x'.repeat(20)}`);
  const count = SETTINGS.p6Count;
  const rate = (run: () => void) => {
    const started = performance.now();
    run();
    return count / ((performance.now() - started) / 1000);
  };
  const ours = () => {
    for (let i = 0; i < count; i++)
      new CustomerKeyAuthentication(privateKey, visitorIds[i % 1000]!);
  };
  const raw = () => {
    for (let i = 0; i < count; i++) {
      const customerKey = createHash('sha256')
        .update(visitorIds[i % 1000]!, 'utf8')
        .digest('hex');
      createHmac('sha256', privateKey).update(customerKey, 'utf8').digest('hex');
    }
  };
  const signer = new MessageAuthentication(privateKey);
  const keys = visitorIds.map((id) => CustomerKeyAuthentication.customerKeyFor(id));
  const sign = () => {
    for (let i = 0; i < count; i++) signer.sign(keys[i % 1000]!);
  };
  const rawHmac = () => {
    for (let i = 0; i < count; i++) {
      createHmac('sha256', privateKey)
        .update(keys[i % 1000]!, 'utf8')
        .digest('hex');
    }
  };
  const runs = {
    ours: [] as number[],
    raw: [] as number[],
    sign: [] as number[],
    rawHmac: [] as number[],
  };
  ours();
  raw();
  for (let round = 0; round < 5; round++) {
    if (round % 2 === 0) {
      runs.ours.push(rate(ours));
      runs.raw.push(rate(raw));
      runs.sign.push(rate(sign));
      runs.rawHmac.push(rate(rawHmac));
    } else {
      runs.raw.push(rate(raw));
      runs.ours.push(rate(ours));
      runs.rawHmac.push(rate(rawHmac));
      runs.sign.push(rate(sign));
    }
  }
  results.p6 = {
    count,
    tokensPerSecond: median(runs.ours),
    rawPerSecond: median(runs.raw),
    ratio: median(runs.ours) / median(runs.raw),
    signPerSecond: median(runs.sign),
    rawHmacPerSecond: median(runs.rawHmac),
    signRatio: median(runs.sign) / median(runs.rawHmac),
  };
  log(
    `P6: ${fmt(results.p6.tokensPerSecond, 0)} tokens/s vs raw ${fmt(results.p6.rawPerSecond, 0)}/s` +
      ` (sign only: ${fmt(results.p6.signPerSecond, 0)} vs ${fmt(results.p6.rawHmacPerSecond, 0)}/s)`,
  );
}

// ---------------------------------------------------------------------------------------------
// P7–P9: capacity, in processes of their own (bench/measures/capacity.ts).

async function benchCapacityAll(results: BenchResults): Promise<void> {
  const standIn = await Child.start<{ url: string }>(
    'capacity stand-in',
    processFile('capacity-stand-in'),
    [],
    { logFile },
  );
  pin(standIn.pid, OTHER_CORE);
  try {
    await benchCapacity(
      standIn,
      async (name, options) => {
        const child = await Child.start(
          name,
          processFile('capacity-app'),
          [JSON.stringify(options)],
          {
            logFile,
          },
        );
        pin(child.pid, UNDER_TEST_CORE);
        return child;
      },
      SETTINGS.capacity,
      results,
      log,
    );
  } finally {
    await standIn.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// P10: the BullMQ backend against the in-memory engine (bench/measures/bullmq.ts).

async function benchBullmqAll(
  standIn: Child<{ url: string }>,
  results: BenchResults,
): Promise<void> {
  await benchBullmq(
    standIn,
    {
      startApp: (options) => startApp(options),
      startAnchor: async (options: AnchorOptions) => {
        const child = await Child.start(
          'bullmq anchor',
          processFile('bullmq-anchor'),
          [JSON.stringify(options)],
          { logFile },
        );
        pin(child.pid, UNDER_TEST_CORE);
        return child;
      },
      pinOther: (pid) => pin(pid, OTHER_CORE),
      logFile,
    },
    SETTINGS.p10,
    results,
    log,
  );
}

// ---------------------------------------------------------------------------------------------
// P11: metrics on ÷ off with the OpenTelemetry SDK registered (bench/measures/metrics.ts).

async function benchMetricsAll(
  standIn: Child<{ url: string }>,
  results: BenchResults,
): Promise<void> {
  await benchMetrics(
    standIn,
    { startApp: (options) => startApp(options), startDelivery },
    SETTINGS.p11,
    results,
    log,
  );
}

// ---------------------------------------------------------------------------------------------

/** The summary without its samples, for the JSON results. */
function strip(summary: LatencySummary & { sorted?: Float64Array }): LatencySummary {
  const copy = { ...summary };
  delete copy.sorted;
  return copy;
}

function fmt(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const wallStarted = performance.now();
  pin(process.pid, OTHER_CORE);
  const cpus = os.cpus();
  const results: BenchResults = {
    meta: {
      date: startedAt.toISOString(),
      mode,
      command: `npm run bench${mode === 'quick' ? '' : ` -- --${mode}`}`,
      node: process.version,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      cpuModel: cpus[0]?.model ?? 'unknown',
      cores,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      pinned,
      loadAverageAtStart: os.loadavg()[0] ?? 0,
      durationSeconds: 0,
    },
    p1: [],
    p2: [],
    saturation: [],
    p4: [],
    p5: undefined,
    p6: undefined,
  };
  log(
    `nestjs-esales bench (${mode}), node ${process.version}, ${cores} cores` +
      (pinned ? ', process under test pinned to core 0' : ''),
  );
  const standIn = await startStandIn();
  const panels: ChartPanel[] = [];
  try {
    if (wants('P6')) benchTokens(results);
    if (wants('P4')) {
      for (const transport of TRANSPORTS) await benchDelivery(transport, standIn, results);
    }
    if (wants('P1') || wants('P2') || wants('P3')) {
      for (const [platform, transport] of SETTINGS.apps) {
        await benchApp(platform, transport, standIn, results, panels);
      }
    }
    if (wants('P5')) await benchOutage(standIn, results);
    if (wants('P7') || wants('P8') || wants('P9')) await benchCapacityAll(results);
    if (wants('P10')) await benchBullmqAll(standIn, results);
    if (wants('P11')) await benchMetricsAll(standIn, results);
  } finally {
    await standIn.stop();
  }
  results.meta.durationSeconds = Math.round((performance.now() - wallStarted) / 1000);

  const svg = latencyChartSvg(
    'Redirect latency with and without @TrackNonEsalesClick (undici transport)',
    panels,
  );
  const chartFile = join(outDir, 'latency.svg');
  writeFileSync(chartFile, svg);
  const json = `${JSON.stringify(results, null, 2)}\n`;
  writeFileSync(join(outDir, 'latest.json'), json);
  // The figures BENCHMARKS.md's own text quotes: the last complete full run.
  if (official && mode === 'full') writeFileSync(join(outDir, 'full.json'), json);
  const table = await writeReport(results, {
    root,
    chartPath: relative(root, chartFile),
    markdownFile: official ? join(root, 'BENCHMARKS.md') : join(outDir, 'BENCHMARKS.md'),
  });
  log(`\n${table}`);
  log(
    `\nWrote ${relative(root, join(outDir, 'latest.json'))}, ${relative(root, chartFile)} and the report` +
      ` in ${results.meta.durationSeconds} s.`,
  );
}

/**
 * `--report`: writes BENCHMARKS.md's table again from bench/results/latest.json, without measuring
 * (after a change to the report's wording; the chart stays as the run drew it).
 */
async function rewriteReport(): Promise<void> {
  const file = join(root, 'bench', 'results', 'latest.json');
  const results = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
  const table = await writeReport(results, {
    root,
    chartPath: 'bench/results/latency.svg',
    markdownFile: join(root, 'BENCHMARKS.md'),
  });
  log(table);
}

await (argv.includes('--report') ? rewriteReport() : main());
