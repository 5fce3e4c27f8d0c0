import { setTimeout as sleep } from 'node:timers/promises';
import type { Child } from '../ipc.js';
import { latencySummary, median, openLoop, percentile, poolFor, sortedLatencies } from '../load.js';
import type { AppUnderTestOptions, AppUsage } from '../processes/app.js';
import type { AnchorMeasured, AnchorOptions } from '../processes/bullmq-anchor.js';
import { BenchRedis, redisServerOnPath } from '../processes/redis.js';
import type { BenchResults, LatencySummary } from '../report.js';

/*
 * P10: the BullMQ delivery backend against the in-memory engine, both measured in this run, with a
 * throwaway redis-server (bench/processes/redis.ts) on the orchestrator's core. Apps are P1's app
 * process (bench/processes/app.ts, Express, undici), pinned like every process under test; the
 * BullMQ app runs the producer and a local worker, so its CPU is both. Both backends get the same
 * options (defaults, adaptive concurrency), bar `maxQueueSize`, raised alike so a burst fits.
 *
 *   1–2. CPU per tracked redirect and redirect p99 at a fixed rate, phases alternated between the
 *        two app processes; then the same with the redis-server stopped (BullMQ delivers from memory).
 *   3.   A burst through `enqueueNonEsalesClick`, timed until the stand-in accepted it all: one app,
 *        then three BullMQ apps sharing the queue, each a third. Beside it bare BullMQ
 *        (bench/processes/bullmq-anchor.ts): addBulk of 500 click-sized jobs, a no-op Worker (64).
 *   4.   Redis `used_memory` per 1 000 notifications queued with no worker (`worker: false`).
 */

export interface BullmqSettings {
  rate: number;
  rounds: number;
  phaseMs: number;
  warmupMs: number;
  /** Rounds with the redis-server stopped. */
  downRounds: number;
  burst: number;
  burstReps: number;
  /** Clicks enqueued per macrotask in a burst. */
  chunk: number;
  anchorCount: number;
  memoryCount: number;
}

export const P10_SKIPPED =
  'P10 skipped: no redis-server on the PATH (apt-get install -y redis-server)';

export interface P10Burst {
  count: number;
  wallMs: number;
  perSecond: number;
  /** Accepted by the stand-in within the time allowed (≥ count when complete). */
  accepted: number;
  /** App-process CPU per notification, all instances together. */
  cpuMicrosPerNotification: number;
  /** BullMQ only: notifications the producers sent to the in-memory engine instead of Redis. */
  toMemory?: number;
}

export interface P10Results {
  rate: number;
  rounds: number;
  phaseMs: number;
  memory: LatencySummary;
  bullmq: LatencySummary;
  cpuRatio: number;
  p99Diff: number;
  /** Largest minus smallest p99 of the memory app's rounds. */
  memoryP99Spread: number | undefined;
  /** Notifications the BullMQ app sent to memory while Redis was up (should be 0). */
  toMemoryWhileUp: number;
  down: {
    rounds: number;
    memory: LatencySummary;
    bullmq: LatencySummary;
    p99Diff: number;
    memoryP99Spread: number | undefined;
    cpuRatio: number;
    toMemory: number;
    toRedis: number;
  };
  burst: {
    memory: P10Burst;
    bullmq: P10Burst;
    ratio: number;
    bullmq3: P10Burst;
    ratio3: number;
  };
  anchor: {
    count: number;
    batch: number;
    concurrency: number;
    producerPerSecond: number;
    producerCpuMicrosPerJob: number;
    workerPerSecond: number;
    workerCpuMicrosPerJob: number;
  };
  redisMemory: { count: number; beforeBytes: number; afterBytes: number; mibPer1000: number };
}

export interface BullmqHooks {
  /** Starts P1's app process, pinned as a process under test. */
  startApp: (options: AppUnderTestOptions) => Promise<Child<{ url: string }>>;
  /** Forks the anchor process, pinned as a process under test. */
  startAnchor: (options: AnchorOptions) => Promise<Child>;
  /** Pins a process beside the load generator and the stand-in. */
  pinOther: (pid: number | undefined) => void;
  logFile: string;
}

const TRACKED = (i: number) => `/tracked/p${i % 1000}/redirect`;
const QUEUE = 'bench-p10';

interface Totals {
  parts: Float64Array[];
  cpuMicros: number;
  count: number;
  errors: number;
  p99s: number[];
}
const newTotals = (): Totals => ({ parts: [], cpuMicros: 0, count: 0, errors: 0, p99s: [] });
const summaryOf = (t: Totals): LatencySummary => latencySummary(t);
/** Largest minus smallest p99 of the rounds: how much p99 moves by noise alone. */
const spreadOf = (t: Totals) =>
  t.p99s.length > 1 ? Math.max(...t.p99s) - Math.min(...t.p99s) : undefined;
const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

export async function benchBullmq(
  standIn: Child<{ url: string }>,
  hooks: BullmqHooks,
  settings: BullmqSettings,
  results: BenchResults,
  log: (line: string) => void,
): Promise<void> {
  if (!redisServerOnPath()) {
    log(`\n${P10_SKIPPED}`);
    results.p10 = { skipped: P10_SKIPPED };
    return;
  }
  log(`\nP10: BullMQ delivery against the in-memory engine`);
  const redis = await BenchRedis.start(hooks.logFile);
  hooks.pinOther(redis.pid);
  const children = new Set<Child>();
  const start = async (options: Omit<AppUnderTestOptions, 'platform' | 'transport'>) => {
    const app = await hooks.startApp({
      platform: 'express',
      transport: 'undici',
      maxQueueSize: Math.max(10_000, settings.burst, settings.memoryCount + 1_000),
      ...options,
    });
    children.add(app);
    return app;
  };
  const stop = async (child: Child) => {
    children.delete(child);
    await child.stop();
  };
  const bullmqOptions = (queueName: string, worker = true) => ({
    bullmq: { redisUrl: redis.url, queueName, worker },
  });
  const usage = (app: Child) => app.call<AppUsage>('usage');
  const backendOf = (u: AppUsage) =>
    u.stats.backend as { redis?: string; toRedis?: number; toMemory?: number };
  const waitForRedis = async (app: Child, state: 'up' | 'down') => {
    const deadline = Date.now() + 10_000;
    while (backendOf(await usage(app)).redis !== state) {
      if (Date.now() > deadline) throw new Error(`P10: the BullMQ app never saw Redis ${state}`);
      await sleep(20);
    }
  };
  const clusterUrl = standIn.ready.url;
  /**
   * Waits until every notification the instances enqueued has an outcome, all instances together
   * (any instance's worker may deliver another's), and returns their usage then.
   */
  const settleAll = async (instances: Child[]): Promise<AppUsage[]> => {
    await Promise.all(instances.map((app) => app.call('flush', 60_000)));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const all = await Promise.all(instances.map(usage));
      let enqueued = 0;
      let outcomes = 0;
      let busy = 0;
      for (const { stats: s } of all) {
        enqueued += s.enqueued;
        outcomes += s.sent + s.rejected + s.dropped + s.expired + s.failed;
        busy += s.queued + s.retrying + s.inFlight;
      }
      if ((outcomes >= enqueued && busy === 0) || Date.now() > deadline) return all;
      await sleep(5);
    }
  };

  try {
    // Every process that can start at once does: app processes take about a second each.
    const anchorOptions: AnchorOptions = {
      redisUrl: redis.url,
      queueName: `${QUEUE}-anchor`,
      clusterUrl,
    };
    const [producer, memoryApp, bullmqApp, anchorChild] = await Promise.all([
      start({ clusterUrl, ...bullmqOptions(`${QUEUE}-memory`, false) }),
      start({ clusterUrl }),
      start({ clusterUrl, ...bullmqOptions(QUEUE) }),
      hooks.startAnchor(anchorOptions).then((child) => (children.add(child), child)),
    ]);

    // 4. Redis memory per 1 000 queued notifications, on a queue of its own that nobody works.
    await waitForRedis(producer, 'up');
    const warm = 100;
    await producer.call('enqueue', { count: warm, chunk: settings.chunk });
    await producer.call('flush', 30_000);
    const beforeBytes = await redis.usedMemory();
    await producer.call('enqueue', { count: settings.memoryCount, chunk: settings.chunk });
    await producer.call('flush', 60_000);
    const written = backendOf(await usage(producer)).toRedis ?? 0;
    const afterBytes = await redis.usedMemory();
    if (written !== warm + settings.memoryCount) {
      throw new Error(`P10: ${written} of ${warm + settings.memoryCount} written to Redis`);
    }
    await stop(producer);
    await anchorChild.call('obliterate', `${QUEUE}-memory`);
    const redisMemory = {
      count: settings.memoryCount,
      beforeBytes,
      afterBytes,
      mibPer1000: ((afterBytes - beforeBytes) / settings.memoryCount) * 1000 * 2 ** -20,
    };
    log(
      `  ${settings.memoryCount} queued with no worker: Redis used_memory ` +
        `${fmt(beforeBytes / 2 ** 20, 1)} → ${fmt(afterBytes / 2 ** 20, 1)} MiB = ` +
        `${fmt(redisMemory.mibPer1000, 3)} MiB per 1 000`,
    );

    // 1–2. CPU and p99 at a fixed rate, the two app processes alternated.
    await waitForRedis(bullmqApp, 'up');
    const apps = { memory: memoryApp, bullmq: bullmqApp } as const;
    const pools = { memory: poolFor(memoryApp.ready.url), bullmq: poolFor(bullmqApp.ready.url) };
    type Which = keyof typeof apps;
    const phase = async (which: Which, totals: Totals, durationMs: number) => {
      const app = apps[which];
      const before = await usage(app);
      const result = await openLoop(pools[which], TRACKED, settings.rate, durationMs);
      if (!(await app.call<boolean>('settle', 60_000))) {
        throw new Error(`P10: the ${which} app did not deliver its phase within 60 s`);
      }
      const after = await usage(app);
      totals.parts.push(result.latencies);
      totals.cpuMicros += after.cpuMicros - before.cpuMicros;
      totals.count += result.latencies.length;
      totals.errors += result.errors;
      totals.p99s.push(percentile(sortedLatencies([result.latencies]), 0.99));
      return backendOf(after);
    };
    const alternate = async (rounds: number) => {
      const totals = { memory: newTotals(), bullmq: newTotals() };
      for (let round = 0; round < rounds; round++) {
        const order: Which[] = round % 2 === 0 ? ['memory', 'bullmq'] : ['bullmq', 'memory'];
        for (const which of order) await phase(which, totals[which], settings.phaseMs);
      }
      return totals;
    };
    try {
      for (const which of ['memory', 'bullmq'] as const) {
        await phase(which, newTotals(), settings.warmupMs);
      }
      const upBefore = backendOf(await usage(bullmqApp));
      const up = await alternate(settings.rounds);
      const upAfter = backendOf(await usage(bullmqApp));
      const memory = summaryOf(up.memory);
      const bullmq = summaryOf(up.bullmq);
      const spread = spreadOf(up.memory);
      log(
        `  ${settings.rate} req/s: CPU ${fmt(memory.cpuMicrosPerRequest, 1)} (memory) vs ` +
          `${fmt(bullmq.cpuMicrosPerRequest, 1)} µs/redirect (BullMQ, worker included); ` +
          `p99 ${fmt(memory.p99)} vs ${fmt(bullmq.p99)} ms`,
      );

      // 3. Bursts, one app of each, alternated; then three BullMQ apps sharing the queue.
      const burst = async (which: Which | Child[], count: number): Promise<P10Burst> => {
        const instances = Array.isArray(which) ? which : [apps[which]];
        const before = await Promise.all(instances.map(usage));
        const acceptedBefore = (await standIn.call<{ accepted: number }>('counts')).accepted;
        const started = performance.now();
        const share = Math.floor(count / instances.length);
        await Promise.all(
          instances.map((app, k) =>
            app.call('enqueue', {
              count: k === 0 ? count - share * (instances.length - 1) : share,
              chunk: settings.chunk,
            }),
          ),
        );
        const deadline = started + 120_000;
        let accepted: number;
        for (;;) {
          accepted = (await standIn.call<{ accepted: number }>('counts')).accepted - acceptedBefore;
          if (accepted >= count || performance.now() > deadline) break;
          await sleep(5);
        }
        const wallMs = performance.now() - started;
        const after = await settleAll(instances);
        let cpu = 0;
        let toMemory = 0;
        for (let k = 0; k < instances.length; k++) {
          cpu += after[k]!.cpuMicros - before[k]!.cpuMicros;
          toMemory += (backendOf(after[k]!).toMemory ?? 0) - (backendOf(before[k]!).toMemory ?? 0);
        }
        return {
          count,
          wallMs,
          perSecond: (Math.min(accepted, count) * 1000) / wallMs,
          accepted,
          cpuMicrosPerNotification: cpu / count,
          ...(which === 'memory' ? {} : { toMemory }),
        };
      };
      const warmBurst = Math.min(2_000, settings.burst);
      await burst('memory', warmBurst);
      await burst('bullmq', warmBurst);
      const runs = { memory: [] as P10Burst[], bullmq: [] as P10Burst[] };
      for (let rep = 0; rep < settings.burstReps; rep++) {
        const order: Which[] = rep % 2 === 0 ? ['memory', 'bullmq'] : ['bullmq', 'memory'];
        for (const which of order) runs[which].push(await burst(which, settings.burst));
      }
      const medianRun = (list: P10Burst[]) => {
        const wall = median(list.map((r) => r.wallMs));
        return list.reduce((a, b) =>
          Math.abs(b.wallMs - wall) < Math.abs(a.wallMs - wall) ? b : a,
        );
      };
      const memoryBurst = medianRun(runs.memory);
      const bullmqBurst = medianRun(runs.bullmq);
      log(
        `  burst of ${settings.burst}: memory ${fmt(memoryBurst.perSecond, 0)}/s, BullMQ ` +
          `${fmt(bullmqBurst.perSecond, 0)}/s (${bullmqBurst.toMemory} to memory)`,
      );
      const extra = await Promise.all([
        start({ clusterUrl, ...bullmqOptions(QUEUE) }),
        start({ clusterUrl, ...bullmqOptions(QUEUE) }),
      ]);
      const three = [bullmqApp, ...extra];
      for (const app of extra) await waitForRedis(app, 'up');
      await burst(three, Math.min(3 * warmBurst, settings.burst));
      const threeRuns: P10Burst[] = [];
      for (let rep = 0; rep < settings.burstReps; rep++)
        threeRuns.push(await burst(three, settings.burst));
      const bullmq3 = medianRun(threeRuns);
      await Promise.all(extra.map(stop));
      log(`  three BullMQ apps sharing the queue: ${fmt(bullmq3.perSecond, 0)}/s`);

      // 3. The anchor: bare BullMQ into the same Redis.
      const warmAnchor = Math.min(2_000, settings.anchorCount);
      await anchorChild.call('produce', warmAnchor);
      await anchorChild.call('consume', warmAnchor);
      const produced = await anchorChild.call<AnchorMeasured>('produce', settings.anchorCount);
      const consumed = await anchorChild.call<AnchorMeasured>('consume', settings.anchorCount);
      await anchorChild.call('obliterate', anchorOptions.queueName);
      await stop(anchorChild);
      const anchor = {
        count: settings.anchorCount,
        batch: 500,
        concurrency: 64,
        producerPerSecond: (produced.count * 1000) / produced.wallMs,
        producerCpuMicrosPerJob: produced.cpuMicros / produced.count,
        workerPerSecond: (consumed.count * 1000) / consumed.wallMs,
        workerCpuMicrosPerJob: consumed.cpuMicros / consumed.count,
      };
      log(
        `  bare BullMQ: addBulk ${fmt(anchor.producerPerSecond, 0)} jobs/s ` +
          `(${fmt(anchor.producerCpuMicrosPerJob, 1)} µs CPU each), no-op worker ` +
          `${fmt(anchor.workerPerSecond, 0)} jobs/s (${fmt(anchor.workerCpuMicrosPerJob, 1)} µs each)`,
      );

      // 2. Redis down: the BullMQ app delivers from memory.
      await redis.stop();
      await waitForRedis(bullmqApp, 'down');
      await phase('bullmq', newTotals(), settings.warmupMs);
      const downBefore = backendOf(await usage(bullmqApp));
      const down = await alternate(settings.downRounds);
      const downAfter = backendOf(await usage(bullmqApp));
      const downMemory = summaryOf(down.memory);
      const downBullmq = summaryOf(down.bullmq);
      log(
        `  Redis down, ${settings.rate} req/s: p99 ${fmt(downMemory.p99)} (memory) vs ` +
          `${fmt(downBullmq.p99)} ms (BullMQ from memory); CPU ${fmt(downMemory.cpuMicrosPerRequest, 1)} vs ` +
          `${fmt(downBullmq.cpuMicrosPerRequest, 1)} µs/redirect`,
      );

      results.p10 = {
        rate: settings.rate,
        rounds: settings.rounds,
        phaseMs: settings.phaseMs,
        memory,
        bullmq,
        cpuRatio: bullmq.cpuMicrosPerRequest / memory.cpuMicrosPerRequest,
        p99Diff: bullmq.p99 - memory.p99,
        memoryP99Spread: spread,
        toMemoryWhileUp: (upAfter.toMemory ?? 0) - (upBefore.toMemory ?? 0),
        down: {
          rounds: settings.downRounds,
          memory: downMemory,
          bullmq: downBullmq,
          p99Diff: downBullmq.p99 - downMemory.p99,
          memoryP99Spread: spreadOf(down.memory),
          cpuRatio: downBullmq.cpuMicrosPerRequest / downMemory.cpuMicrosPerRequest,
          toMemory: (downAfter.toMemory ?? 0) - (downBefore.toMemory ?? 0),
          toRedis: (downAfter.toRedis ?? 0) - (downBefore.toRedis ?? 0),
        },
        burst: {
          memory: memoryBurst,
          bullmq: bullmqBurst,
          ratio: bullmqBurst.perSecond / memoryBurst.perSecond,
          bullmq3,
          ratio3: bullmq3.perSecond / memoryBurst.perSecond,
        },
        anchor,
        redisMemory,
      };
    } finally {
      await Promise.all([pools.memory.close(), pools.bullmq.close()]);
    }
  } finally {
    await Promise.all([...children].map((child) => child.stop().catch(() => undefined)));
    await redis.stop();
  }
}
