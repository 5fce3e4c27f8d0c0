import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { P10Burst, P10Results } from './measures/bullmq.js';
import type { P11Results } from './measures/metrics.js';
import type { CapacityOutcome } from './processes/capacity-app.js';

/*
 * The bench's results as one table: printed, and written into BENCHMARKS.md between two markers so
 * the hand-written analysis around them survives a new run.
 */

export interface LatencySummary {
  /** Requests sent. */
  n: number;
  /** Requests that failed or had another status than the route's. */
  errors: number;
  /** Milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** App-process CPU (user + system) per request, in microseconds; deliveries included when settled. */
  cpuMicrosPerRequest: number;
}

export interface P5Sample {
  /** Seconds since the load started. */
  t: number;
  phase: 'before' | 'outage' | 'after';
  rss: number;
  heapUsed: number;
  queued: number;
  inFlight: number;
  sent: number;
  dropped: number;
  expired: number;
  failed: number;
  breaker: string;
}

export interface BenchResults {
  meta: {
    date: string;
    mode: string;
    command: string;
    node: string;
    os: string;
    cpuModel: string;
    cores: number;
    memoryGiB: number;
    pinned: boolean;
    loadAverageAtStart: number;
    durationSeconds: number;
  };
  p1: {
    platform: string;
    transport: string;
    rate: number;
    off: LatencySummary;
    on: LatencySummary;
    /** The untracked route plus a raw undici POST (P3's yardstick), at P3's rate only. */
    raw?: LatencySummary;
    p50Diff: number;
    p99Diff: number;
    /** Largest minus smallest p99 of the untracked rounds: how much p99 moves by noise alone. */
    untrackedP99Spread: number | undefined;
  }[];
  p2: {
    platform: string;
    transport: string;
    rate: number;
    delayMs: number;
    off: LatencySummary;
    on: LatencySummary;
    p99Diff: number;
    untrackedP99Spread: number | undefined;
    naive: LatencySummary;
  }[];
  saturation: {
    platform: string;
    transport: string;
    offPerSecond: number;
    onPerSecond: number;
    errors: number;
    dropped: number;
  }[];
  p4: {
    transport: string;
    count: number;
    concurrency: number;
    service: { wallMs: number; cpuMicrosPerNotification: number };
    raw: { wallMs: number; cpuMicrosPerNotification: number };
    wallRatio: number;
    cpuRatio: number;
  }[];
  p5:
    | {
        rate: number;
        outageMs: number;
        maxQueueSize: number;
        clicks: number;
        redirectErrors: number;
        drained: boolean;
        samples: P5Sample[];
      }
    | undefined;
  p7?: (CapacityOutcome & {
    latencyMs: number;
    rate: number;
    seconds: number;
    config: 'adaptive' | 'fixed';
    standInMaxInFlight: number;
    /** The limit's ceiling (maxConcurrency, or the fixed 16) ÷ latency: the most it can carry. */
    littleBoundPerSecond: number;
  })[];
  p8?: {
    capacity: number;
    serviceMs: number;
    rate: number;
    seconds: number;
    capacityPerSecond: number;
    deliveredPerSecond: number;
    throughputRatio: number;
    noLoadLatencyMs: number;
    standInP99Ms: number;
    latencyRatio: number;
    standInMaxInFlight: number;
    outcome: CapacityOutcome;
  };
  p9?: {
    delayMs: number;
    rate: number;
    seconds: number;
    outcome: CapacityOutcome;
    deliveredRatio: number;
    distinctAccepted: number;
    attemptsPerNotification: number;
  };
  /** P10: the BullMQ backend against the in-memory engine; `skipped` without a redis-server. */
  p10?: P10Results | { skipped: string };
  /** P11: `metrics: true` ÷ off, with the OpenTelemetry SDK MeterProvider registered in both. */
  p11?: P11Results;
  p6:
    | {
        count: number;
        tokensPerSecond: number;
        rawPerSecond: number;
        ratio: number;
        signPerSecond: number;
        rawHmacPerSecond: number;
        signRatio: number;
      }
    | undefined;
}

interface Row {
  id: string;
  setup: string;
  measured: string;
  goal: string;
  verdict: string;
}

const BEGIN = '<!-- bench:begin (written by `npm run bench`; edit outside these markers) -->';
const END = '<!-- bench:end -->';

const n = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const signed = (value: number, digits = 2) =>
  Number.isFinite(value) ? `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}` : 'n/a';
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const verdict = (met: boolean | undefined) => (met === undefined ? '' : met ? 'met' : 'missed');
const errorsOf = (...summaries: LatencySummary[]) => {
  const errors = summaries.reduce((sum, s) => sum + s.errors, 0);
  return errors ? ` (${errors} errors)` : '';
};

/** What P5's samples say: memory at the key moments, and whether delivery resumed. */
export function summariseOutage(p5: NonNullable<BenchResults['p5']>) {
  const samples = p5.samples;
  const before = samples.filter((s) => s.phase === 'before').at(-1) ?? samples[0]!;
  const outage = samples.filter((s) => s.phase === 'outage');
  const outageEnd = outage.at(-1) ?? before;
  // The queue stops growing once it is full (new clicks dropped) or once the oldest notifications
  // expire as fast as new ones arrive (deliveryTimeoutMs): whichever comes first.
  const full =
    outage.find(
      (s) =>
        s.dropped > before.dropped || s.queued >= p5.maxQueueSize || s.expired > before.expired,
    ) ?? outageEnd;
  const after = samples.at(-1)!;
  const resumed = samples.find((s) => s.phase === 'after' && s.sent > outageEnd.sent);
  const maxQueued = Math.max(...samples.map((s) => s.queued));
  const heapGrowthAfterFull = outageEnd.heapUsed - full.heapUsed;
  // "Flat": what is retained after a full GC grows by at most 1 MiB or 5 % once the queue stopped growing.
  const flat =
    full !== outageEnd ? heapGrowthAfterFull <= Math.max(2 ** 20, 0.05 * full.heapUsed) : undefined;
  return {
    before,
    full,
    /** The queue stopped growing before the outage ended. */
    plateaued: full !== outageEnd,
    outageEnd,
    after,
    maxQueued,
    heapGrowthAfterFull,
    flat,
    dropped: after.dropped - before.dropped,
    expired: after.expired - before.expired,
    failed: after.failed - before.failed,
    deliveredAfter: after.sent - outageEnd.sent,
    resumedAfterSeconds: resumed ? resumed.t - outageEnd.t : undefined,
  };
}

function rows(results: BenchResults): Row[] {
  const out: Row[] = [];
  for (const r of results.p1) {
    const noise =
      r.untrackedP99Spread === undefined
        ? ''
        : ` [untracked p99 moved ${n(r.untrackedP99Spread)} ms between rounds]`;
    out.push({
      id: 'P1',
      setup: `${r.platform}, ${r.transport}, ${r.rate} req/s`,
      measured:
        `p50 ${n(r.off.p50)} → ${n(r.on.p50)} ms (${signed(r.p50Diff)}); ` +
        `p99 ${n(r.off.p99)} → ${n(r.on.p99)} ms (${signed(r.p99Diff)})${noise}${errorsOf(r.off, r.on)}`,
      goal: r.rate === 500 ? 'p99 Δ ≤ 1 ms' : '',
      verdict: verdict(r.rate === 500 ? r.p99Diff <= 1 : undefined),
    });
  }
  for (const r of results.p2) {
    out.push({
      id: 'P2',
      setup: `${r.platform}, cluster answers after ${r.delayMs} ms, ${r.rate} req/s`,
      measured:
        `p99 ${n(r.off.p99)} → ${n(r.on.p99)} ms (${signed(r.p99Diff)})` +
        (r.untrackedP99Spread === undefined
          ? '; '
          : ` [untracked p99 moved ${n(r.untrackedP99Spread)} ms between rounds]; `) +
        `naive awaiting handler: p50 ${n(r.naive.p50, 1)}, p99 ${n(r.naive.p99, 1)} ms${errorsOf(r.off, r.on)}`,
      goal: 'p99 Δ ≤ 2 ms',
      verdict: verdict(r.p99Diff <= 2),
    });
  }
  for (const r of results.p1) {
    if (!r.raw) continue;
    const added = r.on.cpuMicrosPerRequest - r.off.cpuMicrosPerRequest;
    const rawPost = r.raw.cpuMicrosPerRequest - r.off.cpuMicrosPerRequest;
    const ratio = added / rawPost;
    out.push({
      id: 'P3',
      setup: `${r.platform}, ${r.transport}, CPU at ${r.rate} req/s`,
      measured:
        `untracked ${n(r.off.cpuMicrosPerRequest, 1)}, tracked ${n(r.on.cpuMicrosPerRequest, 1)} µs/redirect: ` +
        `${signed(added, 1)} µs = ${n(ratio)} × a raw undici POST (${signed(rawPost, 1)} µs)`,
      goal: '≤ 1.5',
      verdict: verdict(ratio <= 1.5),
    });
  }
  for (const s of results.saturation) {
    // The bound uses the CPU figures of the same app's highest-rate rounds.
    const cpu = results.p1.find(
      (r) => r.platform === s.platform && r.transport === s.transport && r.raw,
    );
    const rawPost = cpu?.raw
      ? cpu.raw.cpuMicrosPerRequest - cpu.off.cpuMicrosPerRequest
      : Number.NaN;
    const bound = cpu ? 1 / (1 + rawPost / cpu.off.cpuMicrosPerRequest) : Number.NaN;
    const ratio = s.onPerSecond / s.offPerSecond;
    out.push({
      id: 'P3',
      setup: `${s.platform}, ${s.transport}, saturated (autocannon, 32 connections)`,
      measured:
        `${n(s.offPerSecond, 0)} → ${n(s.onPerSecond, 0)} req/s = ${n(ratio)}; ` +
        `bound ${n(bound)}; ${n((100 * ratio) / bound, 0)} % of bound` +
        (s.dropped ? `; ${s.dropped} notifications dropped (queue full)` : '') +
        (s.errors ? `; ${s.errors} errors` : ''),
      goal: '≥ 90 % of bound',
      // Dropped notifications cost nothing, so the ratio would flatter: no verdict then.
      verdict: s.dropped ? 'not comparable' : verdict(ratio / bound >= 0.9),
    });
  }
  for (const r of results.p4) {
    out.push({
      id: 'P4',
      setup: `${r.transport}: ${r.count} notifications, concurrency ${r.concurrency}`,
      measured:
        `wall ${n(r.service.wallMs, 0)} vs raw ${n(r.raw.wallMs, 0)} ms = ${n(r.wallRatio)}; ` +
        `CPU ${n(r.service.cpuMicrosPerNotification, 1)} vs ${n(r.raw.cpuMicrosPerNotification, 1)} µs = ${n(r.cpuRatio)}`,
      goal: 'CPU ratio ≤ 1.5',
      verdict: verdict(r.cpuRatio <= 1.5),
    });
  }
  if (results.p5) {
    const o = summariseOutage(results.p5);
    out.push({
      id: 'P5',
      setup: `express, ${results.p5.rate} clicks/s, cluster refusing connections for ${results.p5.outageMs / 1000} s`,
      measured:
        `heap ${mib(o.before.heapUsed)} before, ` +
        (o.plateaued
          ? `${mib(o.full.heapUsed)} once the queue stopped growing (about ${n(o.full.t - o.before.t, 0)} s into the outage), ` +
            `${mib(o.outageEnd.heapUsed)} at the outage's end (${signed(o.heapGrowthAfterFull / 2 ** 20, 1)} MiB), `
          : `${mib(o.outageEnd.heapUsed)} at the outage's end, `) +
        `${mib(o.after.heapUsed)} after; RSS ${mib(o.before.rss)} → ${mib(o.outageEnd.rss)} → ${mib(o.after.rss)}; ` +
        `queue max ${o.maxQueued} of ${results.p5.maxQueueSize}; dropped ${o.dropped}, expired ${o.expired}` +
        (o.failed ? `, failed ${o.failed}` : '') +
        `; delivery resumed ${o.resumedAfterSeconds === undefined ? 'never' : `${n(o.resumedAfterSeconds, 1)} s after`} ` +
        `(${o.deliveredAfter} delivered after)` +
        (results.p5.redirectErrors ? `; ${results.p5.redirectErrors} redirect errors` : ''),
      goal: 'flat once the queue is full',
      verdict: o.plateaued
        ? verdict(o.flat === true && o.resumedAfterSeconds !== undefined)
        : 'queue never stopped growing',
    });
  }
  if (results.p6) {
    const p6 = results.p6;
    out.push({
      id: 'P6',
      setup: '`new CustomerKeyAuthentication()` vs raw `createHash` + `createHmac`',
      measured: `${n(p6.tokensPerSecond, 0)} vs ${n(p6.rawPerSecond, 0)} tokens/s = ${n(p6.ratio)}`,
      goal: '≥ 0.9',
      verdict: verdict(p6.ratio >= 0.9),
    });
    out.push({
      id: 'P6',
      setup: '`MessageAuthentication.sign()` vs raw `createHmac`',
      measured: `${n(p6.signPerSecond, 0)} vs ${n(p6.rawHmacPerSecond, 0)} signatures/s = ${n(p6.signRatio)}`,
      goal: '≥ 0.9',
      verdict: verdict(p6.signRatio >= 0.9),
    });
  }
  for (const row of results.p7 ?? []) {
    const delivered = row.sent / row.enqueued;
    const queueSeconds = row.peakWaiting / row.rate;
    const noGoal = row.latencyMs < 50;
    out.push({
      id: 'P7',
      setup:
        `cluster answers after ${row.latencyMs} ms, ${row.rate}/s for ${row.seconds} s, ` +
        (row.config === 'adaptive' ? 'default options (adaptive)' : '`concurrency: 16`'),
      measured:
        `${n(delivered * 100, 1)} % delivered (${row.sent}/${row.enqueued}; dropped ${row.dropped}, ` +
        `expired ${row.expired}); queue peak ${row.peakWaiting} = ${n(queueSeconds, 2)} s of arrivals; ` +
        `limit peak ${row.peakLimit}, cluster saw ≤ ${row.standInMaxInFlight} in flight; ` +
        `bound ${row.config === 'adaptive' ? 'maxConcurrency' : '16'} ÷ latency = ${n(row.littleBoundPerSecond, 0)}/s`,
      goal:
        row.config === 'fixed'
          ? 'comparison'
          : noGoal
            ? 'none (CPU-bound here)'
            : '100 %, queue ≤ 2 s',
      verdict:
        row.config === 'fixed' || noGoal ? '' : verdict(delivered === 1 && queueSeconds <= 2),
    });
  }
  if (results.p8) {
    const p8 = results.p8;
    out.push({
      id: 'P8',
      setup:
        `cluster serves ${p8.capacity} at once in ${p8.serviceMs} ms (${n(p8.capacityPerSecond, 0)}/s), ` +
        `arrivals ${p8.rate}/s for ${p8.seconds} s, default options`,
      measured:
        `${n(p8.deliveredPerSecond, 0)}/s delivered = ${n(p8.throughputRatio)} of capacity; cluster p99 ` +
        `${n(p8.standInP99Ms, 1)} ms vs ${n(p8.noLoadLatencyMs, 1)} ms at no load = ${n(p8.latencyRatio)}; ` +
        `limit ended at ${p8.outcome.finalLimit} (peak ${p8.outcome.peakLimit}), cluster saw ≤ ${p8.standInMaxInFlight}`,
      goal: 'throughput ≥ 0.9, p99 ratio ≤ 2',
      verdict: verdict(p8.throughputRatio >= 0.9 && p8.latencyRatio <= 2),
    });
  }
  if (results.p9) {
    const p9 = results.p9;
    out.push({
      id: 'P9',
      setup: `every second answer a 503 (${p9.delayMs} ms), ${p9.rate}/s for ${p9.seconds} s, default options`,
      measured:
        `${n(p9.deliveredRatio * 100, 1)} % delivered (${p9.outcome.sent}/${p9.outcome.enqueued}, ` +
        `${p9.distinctAccepted} distinct ids accepted; expired ${p9.outcome.expired}, failed ` +
        `${p9.outcome.failed}); ${n(p9.attemptsPerNotification)} attempts per notification`,
      goal: '100 % within the budget',
      verdict: verdict(p9.deliveredRatio === 1),
    });
  }
  if (results.p10) out.push(...p10Rows(results.p10, results.meta.cores));
  if (results.p11) out.push(...p11Rows(results.p11));
  return out;
}

/** The goal of P11's delivery row: CPU per notification with metrics on ÷ off. */
const P11_GOAL = 1.1;

function p11Rows(p11: P11Results): Row[] {
  const sdk = `SDK MeterProvider, periodic reader every ${n(p11.exportIntervalMs / 1000, 1)} s`;
  // Without a single exported outcome the on side did not record: its ratio says nothing.
  const unrecorded = (otel: { outcomes: number } | undefined) =>
    !otel || otel.outcomes === 0 ? '; no outcomes exported by the on process' : '';
  const d = p11.delivery;
  const spread =
    d.reps > 1
      ? ` [on ÷ off of each pair of runs: ${n(d.pairedCpuRatio.min)} to ${n(d.pairedCpuRatio.max)}, median ${n(d.pairedCpuRatio.median)}]`
      : '';
  const out: Row[] = [
    {
      id: 'P11',
      setup: `metrics on ÷ off, P4's delivery (${d.transport}): ${d.count} notifications ×${d.reps} each, alternated, concurrency ${d.concurrency}; ${sdk}`,
      measured:
        `CPU ${n(d.off.cpuMicrosPerNotification, 1)} → ${n(d.on.cpuMicrosPerNotification, 1)} µs per notification ` +
        `(${signed(d.on.cpuMicrosPerNotification - d.off.cpuMicrosPerNotification, 1)}) = ${n(d.cpuRatio)}${spread}; ` +
        `wall ${n(d.off.wallMs, 0)} → ${n(d.on.wallMs, 0)} ms = ${n(d.wallRatio)}` +
        (d.otelOn ? `; ${d.otelOn.outcomes} outcomes exported` : '') +
        unrecorded(d.otelOn),
      goal: `CPU ratio ≤ ${P11_GOAL}`,
      verdict: unrecorded(d.otelOn) ? 'not comparable' : verdict(d.cpuRatio <= P11_GOAL),
    },
  ];
  for (const a of p11.apps) {
    const added = a.off.cpuMicrosPerRequest - a.untracked.cpuMicrosPerRequest;
    out.push({
      id: 'P11',
      setup: `metrics on ÷ off, P3's tracked redirect: ${a.platform}, ${a.transport}, CPU at ${a.rate} req/s`,
      measured:
        `${n(a.off.cpuMicrosPerRequest, 1)} → ${n(a.on.cpuMicrosPerRequest, 1)} µs per tracked redirect ` +
        `(${signed(a.on.cpuMicrosPerRequest - a.off.cpuMicrosPerRequest, 1)}) = ${n(a.cpuRatio)}; ` +
        `metrics add ${signed(100 * a.shareOfAdded, 0)} % to the package's own ${signed(added, 1)} µs over untracked ` +
        `(untracked ${n(a.untracked.cpuMicrosPerRequest, 1)} off, ${n(a.onUntracked.cpuMicrosPerRequest, 1)} on); p99 ${n(a.off.p99)} → ${n(a.on.p99)} ms` +
        errorsOf(a.untracked, a.onUntracked, a.off, a.on) +
        unrecorded(a.otelOn),
      goal: 'reported',
      verdict: unrecorded(a.otelOn) ? 'not comparable' : '',
    });
    const s = a.saturation;
    out.push({
      id: 'P11',
      setup: `metrics on ÷ off, P3's tracked redirect: ${a.platform}, ${a.transport}, saturated (autocannon, 32 connections)`,
      measured:
        `${n(s.offPerSecond, 0)} → ${n(s.onPerSecond, 0)} req/s = ${n(s.ratio)}` +
        (s.dropped ? `; ${s.dropped} notifications dropped (queue full)` : '') +
        (s.errors ? `; ${s.errors} errors` : ''),
      goal: 'reported',
      verdict: s.dropped ? 'not comparable' : '',
    });
  }
  return out;
}

function p10Rows(p10: NonNullable<BenchResults['p10']>, cores: number): Row[] {
  if ('skipped' in p10) {
    return [{ id: 'P10', setup: 'BullMQ delivery', measured: p10.skipped, goal: '', verdict: '' }];
  }
  const spread =
    p10.memoryP99Spread === undefined
      ? ''
      : ` [memory p99 moved ${n(p10.memoryP99Spread)} ms between rounds]`;
  const { memory, bullmq, down, burst, anchor, redisMemory } = p10;
  const burstText = (b: P10Burst) =>
    `${b.accepted >= b.count ? '' : `only ${b.accepted} of ${b.count} accepted in time; `}` +
    `${n(b.cpuMicrosPerNotification, 1)} µs app CPU each` +
    (b.toMemory ? `; ${b.toMemory} went to memory, not Redis` : '');
  return [
    {
      id: 'P10',
      setup: `BullMQ (producer + local worker) vs memory backend: CPU at ${p10.rate} req/s`,
      measured:
        `memory ${n(memory.cpuMicrosPerRequest, 1)}, BullMQ ${n(bullmq.cpuMicrosPerRequest, 1)} µs per ` +
        `tracked redirect (app process, deliveries and worker included) = ${n(p10.cpuRatio)}` +
        (p10.toMemoryWhileUp ? `; ${p10.toMemoryWhileUp} fell back to memory` : ''),
      goal: '≤ 2',
      verdict: verdict(p10.cpuRatio <= 2),
    },
    {
      id: 'P10',
      setup: `BullMQ vs memory backend: redirect latency at ${p10.rate} req/s`,
      measured:
        `p50 ${n(memory.p50)} → ${n(bullmq.p50)} ms; p99 ${n(memory.p99)} → ${n(bullmq.p99)} ms ` +
        `(${signed(p10.p99Diff)})${spread}${errorsOf(memory, bullmq)}`,
      goal: 'p99 Δ ≤ 1 ms',
      verdict: verdict(p10.p99Diff <= 1),
    },
    {
      id: 'P10',
      setup: `Redis stopped (BullMQ delivers from memory) vs memory backend, ${p10.rate} req/s`,
      measured:
        `p99 ${n(down.memory.p99)} → ${n(down.bullmq.p99)} ms (${signed(down.p99Diff)})` +
        (down.memoryP99Spread === undefined
          ? ''
          : ` [memory p99 moved ${n(down.memoryP99Spread)} ms between rounds]`) +
        `; CPU ` +
        `${n(down.memory.cpuMicrosPerRequest, 1)} vs ${n(down.bullmq.cpuMicrosPerRequest, 1)} µs = ` +
        `${n(down.cpuRatio)}; ${down.toMemory} to memory, ${down.toRedis} to Redis` +
        errorsOf(down.memory, down.bullmq),
      goal: 'p99 Δ ≤ 1 ms',
      verdict: verdict(down.p99Diff <= 1),
    },
    {
      id: 'P10',
      setup: `burst of ${burst.memory.count} enqueued, until the stand-in accepted all: one app`,
      measured:
        `memory ${n(burst.memory.perSecond, 0)}/s (${burstText(burst.memory)}), BullMQ ` +
        `${n(burst.bullmq.perSecond, 0)}/s (${burstText(burst.bullmq)}) = ${n(burst.ratio)}`,
      goal: '≥ 0.5',
      verdict: verdict(burst.ratio >= 0.5 && burst.bullmq.accepted >= burst.bullmq.count),
    },
    {
      id: 'P10',
      setup:
        `the same burst, three BullMQ apps sharing the queue (a third each; on ${cores} cores ` +
        'this shows correctness, not scaling)',
      measured:
        `${n(burst.bullmq3.perSecond, 0)}/s (${burstText(burst.bullmq3)}; accepted ` +
        `${burst.bullmq3.accepted} of ${burst.bullmq3.count}) = ${n(burst.ratio3)} of memory (one app)`,
      goal: '≥ 0.5',
      verdict: verdict(burst.ratio3 >= 0.5 && burst.bullmq3.accepted >= burst.bullmq3.count),
    },
    {
      id: 'P10',
      setup: `bare BullMQ anchor, same Redis: ${anchor.count} click-sized jobs`,
      measured:
        `addBulk ×${anchor.batch}: ${n(anchor.producerPerSecond, 0)} jobs/s, ` +
        `${n(anchor.producerCpuMicrosPerJob, 1)} µs CPU per job; no-op Worker (concurrency ` +
        `${anchor.concurrency}): ${n(anchor.workerPerSecond, 0)} jobs/s, ` +
        `${n(anchor.workerCpuMicrosPerJob, 1)} µs CPU per job`,
      goal: 'reference',
      verdict: '',
    },
    {
      id: 'P10',
      setup: `Redis memory, ${redisMemory.count} notifications queued with \`worker: false\``,
      measured:
        `used_memory ${mib(redisMemory.beforeBytes)} → ${mib(redisMemory.afterBytes)} = ` +
        `${n(redisMemory.mibPer1000, 3)} MiB per 1 000`,
      goal: 'reported',
      verdict: '',
    },
  ];
}

const HEADERS: Row = { id: 'id', setup: 'setup', measured: 'measured', goal: 'goal', verdict: '' };
const COLUMNS = ['id', 'setup', 'measured', 'goal', 'verdict'] as const;

function plainTable(all: Row[]): string {
  const widths = COLUMNS.map((c) => Math.max(...[HEADERS, ...all].map((r) => r[c].length)));
  const line = (r: Row) =>
    COLUMNS.map((c, i) => r[c].padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(HEADERS), ...all.map(line)].join('\n');
}

function markdownTable(all: Row[]): string {
  const escape = (text: string) => text.replace(/\|/g, '\\|');
  return [
    '| id | setup | measured | goal | |',
    '| --- | --- | --- | --- | --- |',
    ...all.map((r) => `| ${COLUMNS.map((c) => escape(r[c])).join(' | ')} |`),
  ].join('\n');
}

function generatedSection(results: BenchResults, table: string, chartPath: string): string {
  const m = results.meta;
  return [
    BEGIN,
    '',
    `Run of ${m.date.slice(0, 16).replace('T', ' ')} UTC, \`${m.command}\` (${m.mode} mode, ${m.durationSeconds} s):`,
    `Node ${m.node} on ${m.os}, ${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB;`,
    m.pinned
      ? 'the process under test pinned to core 0, the load generator and the stand-in to core 1;'
      : 'processes not pinned (taskset unavailable or a single core);',
    `load average ${m.loadAverageAtStart.toFixed(2)} at the start. Raw figures: \`bench/results/latest.json\`.`,
    '',
    table,
    '',
    `![Redirect latency by percentile, with and without @TrackNonEsalesClick](${chartPath})`,
    '',
    END,
  ].join('\n');
}

/** Prints nothing; returns the plain-text table and writes the markdown report. */
export async function writeReport(
  results: BenchResults,
  target: { root: string; chartPath: string; markdownFile: string },
): Promise<string> {
  const all = rows(results);
  const section = generatedSection(results, markdownTable(all), target.chartPath);
  let document = existsSync(target.markdownFile)
    ? readFileSync(target.markdownFile, 'utf8')
    : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const begin = document.indexOf(BEGIN);
  const end = document.indexOf(END);
  document =
    begin >= 0 && end > begin
      ? document.slice(0, begin) + section + document.slice(end + END.length)
      : `${document.trimEnd()}\n\n${section}\n`;
  // prettier is a devDependency: the committed report must pass `npm run lint`'s format check.
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(target.markdownFile)) ?? {};
  writeFileSync(
    target.markdownFile,
    await prettier.format(document, { ...options, filepath: target.markdownFile }),
  );
  return plainTable(all);
}
