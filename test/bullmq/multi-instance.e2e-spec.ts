import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EsalesStats } from '../../lib/delivery/esales-stats.interface.js';
import {
  ElevateStandIn,
  type StandInAnswer,
  type StandInRequest,
} from '../../lib/testing/elevate-stand-in.js';
import { AppInstance, buildInstanceBundle, stopAllInstances } from '../support/app-instances.js';
import { RedisServer, type RespValue } from '../support/redis-server.js';

/*
 * The BullMQ backend across real processes: app instances (test/bullmq/instance/main.ts, configured
 * from ESALES_* variables only) share one redis-server and one Elevate stand-in. One redis-server
 * serves the whole file; each test has a queue of its own.
 */

/** The backend's counters in `getStats().backend` (BullmqDeliveryBackend.stats()). */
interface BackendCounters {
  readonly redis: 'up' | 'down';
  readonly toRedis: number;
  readonly toMemory: number;
  readonly writeFailures: number;
  readonly uncertain: number;
  readonly stalledPayments: number;
  readonly processed: number;
  readonly buffered: number;
  readonly awaitingOutcome: number;
}

const backendOf = (stats: EsalesStats): BackendCounters =>
  stats.backend as unknown as BackendCounters;

const keys = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

const accepted = (request: StandInRequest): boolean =>
  request.status !== undefined && request.status >= 200 && request.status < 300;

/** The product key of a recorded non-esales-click. */
const clickKeyOf = (request: StandInRequest): string =>
  String((request.body as { productKey?: unknown } | undefined)?.productKey);

/** The product key of a recorded payment's one line: `/_test/payment?id=` puts the id there. */
const paymentKeyOf = (request: StandInRequest): string =>
  String(
    (request.body as { lines?: { productKey?: unknown }[] } | undefined)?.lines?.[0]?.productKey,
  );

const clickKeys = (standIn: ElevateStandIn, only: (r: StandInRequest) => boolean = accepted) =>
  standIn.requestsOf('non-esales-click').filter(only).map(clickKeyOf);

const paymentKeys = (standIn: ElevateStandIn, only: (r: StandInRequest) => boolean = accepted) =>
  standIn.requestsOf('payment').filter(only).map(paymentKeyOf);

function countsOf(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** What is wrong with `received` as exactly one of each of `expected`: all three lists empty when right. */
function exactlyOnce(received: readonly string[], expected: readonly string[]) {
  const counts = countsOf(received);
  const wanted = new Set(expected);
  return {
    duplicates: [...counts].filter(([, n]) => n > 1).map(([key, n]) => `${key} ×${n}`),
    missing: expected.filter((key) => !counts.has(key)),
    unexpected: [...counts.keys()].filter((key) => !wanted.has(key)),
  };
}

const NOTHING_WRONG = { duplicates: [], missing: [], unexpected: [] };

/** Polls `probe` until `done` holds; fails with the last value after `timeoutMs`. */
async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`waited ${timeoutMs} ms for ${what}; last seen: ${JSON.stringify(value)}`);
    }
    await sleep(50);
  }
}

/** Every instance's stats, in order. */
const statsOf = (instances: readonly AppInstance[]): Promise<EsalesStats[]> =>
  Promise.all(instances.map((instance) => instance.stats()));

/** Waits until every instance's producer is connected to Redis (stats say `redis: 'up'`). */
const redisUp = (instances: readonly AppInstance[], timeoutMs = 10_000): Promise<EsalesStats[]> =>
  waitFor(
    "every instance's backend to report redis: 'up'",
    () => statsOf(instances),
    (all) => all.every((stats) => backendOf(stats).redis === 'up'),
    timeoutMs,
  );

/** One redirect through the tracked route: its status and how long it took. */
async function redirect(instance: AppInstance, productKey: string) {
  const started = performance.now();
  const answer = await instance.get(`/products/${encodeURIComponent(productKey)}/redirect`);
  return { productKey, status: answer.status, ms: performance.now() - started };
}

/** Redirects for every key, at most `parallel` at once per call; the answers in key order. */
async function redirects(instance: AppInstance, productKeys: readonly string[], parallel = 20) {
  const answers: Awaited<ReturnType<typeof redirect>>[] = [];
  for (let i = 0; i < productKeys.length; i += parallel) {
    const chunk = productKeys.slice(i, i + parallel);
    answers.push(...(await Promise.all(chunk.map((key) => redirect(instance, key)))));
  }
  return answers;
}

/** `/_test/enqueue`: `count` non-esales-clicks `<prefix>-0` …; how many were taken. */
const enqueueClicks = async (instance: AppInstance, prefix: string, count: number) =>
  (await instance.postJson<{ queued: number }>(`/_test/enqueue?count=${count}&prefix=${prefix}`))
    .queued;

describe('BullMQ delivery across instances (real processes)', () => {
  let bundle: string;
  let redis: RedisServer;
  const standIns: ElevateStandIn[] = [];

  const startStandIn = async (): Promise<ElevateStandIn> => {
    const standIn = await ElevateStandIn.start();
    standIns.push(standIn);
    return standIn;
  };

  const envFor = (
    queue: string,
    standIn: ElevateStandIn,
    extra: Record<string, string> = {},
  ): Record<string, string> => ({
    ESALES_DELIVERY: 'bullmq',
    ESALES_REDIS_URL: redis.url,
    ESALES_BULLMQ_QUEUE: queue,
    ESALES_BULLMQ_WORKER: 'true',
    ESALES_CLUSTER_URL: standIn.url,
    ESALES_ALLOW_INSECURE_CLUSTER_URL: 'true',
    ESALES_DEFAULT_MARKET: 'UK',
    ...extra,
  });

  beforeAll(async () => {
    [bundle, redis] = await Promise.all([buildInstanceBundle(), RedisServer.start()]);
  }, 120_000);

  afterEach(async () => {
    // A test that failed half-way may have left Redis stopped or paused.
    if (!redis.running) await redis.restart();
    else redis.resume();
    await stopAllInstances();
    await Promise.all(standIns.splice(0).map((standIn) => standIn.close()));
  }, 30_000);

  afterAll(async () => {
    await stopAllInstances();
    await Promise.all(standIns.splice(0).map((standIn) => standIn.close()));
    await redis?.stop();
  }, 30_000);

  it('three instances on one queue deliver every click exactly once, all through Redis', async () => {
    const standIn = await startStandIn();
    const env = envFor('multi-a', standIn);
    const instances = await Promise.all([0, 1, 2].map(() => AppInstance.start(bundle, env)));
    await redisUp(instances);

    // 300 redirects, 100 through each instance, all at once; and a burst of 100 on each.
    const routed = instances.map((_, n) => keys(`redirect-${n}`, 100));
    const [answers, bursts] = await Promise.all([
      Promise.all(instances.map((instance, n) => redirects(instance, routed[n]!))),
      Promise.all(instances.map((instance, n) => enqueueClicks(instance, `burst-${n}`, 100))),
    ]);
    expect(answers.flat().filter((a) => a.status !== 302)).toEqual([]);
    expect(bursts).toEqual([100, 100, 100]);

    const expected = [...routed.flat(), ...[0, 1, 2].flatMap((n) => keys(`burst-${n}`, 100))];
    const stats = await waitFor(
      'every instance to have sent its share (the sum of sent = 600)',
      () => statsOf(instances),
      (all) => sum(all.map((s) => s.sent)) >= expected.length,
      15_000,
    );
    expect(exactlyOnce(clickKeys(standIn), expected)).toEqual(NOTHING_WRONG);
    expect(standIn.requests.filter((r) => !accepted(r))).toEqual([]);
    const backends = stats.map(backendOf);
    expect(sum(backends.map((b) => b.toRedis))).toBe(expected.length);
    expect(backends.map((b) => b.toMemory)).toEqual([0, 0, 0]);
    expect(backends.map((b) => b.writeFailures)).toEqual([0, 0, 0]);
    expect(sum(stats.map((s) => s.sent))).toBe(expected.length);
    expect(sum(backends.map((b) => b.processed))).toBe(expected.length);
    // Every instance produced its 200; the workers shared the delivering.
    expect(stats.map((s) => s.enqueued)).toEqual([200, 200, 200]);
  }, 40_000);

  it('kill -9 with jobs in flight: clicks are re-run, payments are never sent twice', async () => {
    const queue = 'multi-kill';
    const standIn = await startStandIn();
    // A slow cluster, so that jobs are still in flight when A dies.
    let answered = 0;
    standIn.respondWith((_request, elevate) => {
      const answer: StandInAnswer = elevate();
      if (typeof answer === 'string') return answer;
      return { ...answer, delayMs: 300 + (answered++ % 5) * 50 };
    });
    const env = envFor(queue, standIn, {
      // BullMQ's stall check and job lock default to 30 s: a job held by a dead worker would only
      // be taken over after up to a minute. A 1 s check and a 3 s lock make it a few seconds; the
      // lock stays above what a loaded CI machine stalls an event loop for (a lock that lapses
      // while its worker is alive makes a healthy job look stalled: the README's caveat).
      INSTANCE_BULLMQ_STALLED_INTERVAL_MS: '1000',
      INSTANCE_BULLMQ_LOCK_DURATION_MS: '3000',
      // At most 6 requests in flight and 6 jobs active per queue per instance: clicks and payments
      // share the requests, and some payments are still waiting in Redis when A dies.
      ESALES_CONCURRENCY: '6',
    });
    let a: AppInstance;
    const [first, b] = await Promise.all([
      AppInstance.start(bundle, env),
      AppInstance.start(bundle, env),
    ]);
    a = first;
    await redisUp([a, b]);

    const clicks = keys('kill-click', 200);
    const payments = keys('kill-pay', 40);
    const [paid, queued] = await Promise.all([
      Promise.all(
        payments.map((id) =>
          a.postJson<{ queued: boolean }>(`/_test/payment?id=${id}&dedupeKey=order-${id}`),
        ),
      ),
      enqueueClicks(a, 'kill-click', 200),
    ]);
    expect(paid.every((p) => p.queued)).toBe(true);
    expect(queued).toBe(200);

    // Until A has a click and a payment out at the stand-in (told apart by A's sockets), B has
    // something out too, and more payments wait in Redis than B would take up at once.
    const pendingOf = async (instance: AppInstance) => {
      const ports = await instance.localTcpPorts();
      const out = standIn.requests.filter(
        (r) => r.status === undefined && r.remotePort !== undefined && ports.has(r.remotePort),
      );
      return {
        clicks: out.filter((r) => r.kind === 'non-esales-click').length,
        payments: out.filter((r) => r.kind === 'payment').length,
      };
    };
    await waitFor(
      'A to have a click and a payment in flight at the stand-in, B something, payments waiting',
      async () => ({
        a: await pendingOf(a),
        b: await pendingOf(b),
        waitingPayments: Number(await redis.command('LLEN', `bull:${queue}-payments:wait`)),
      }),
      (n) =>
        n.a.clicks > 0 &&
        n.a.payments > 0 &&
        n.b.clicks + n.b.payments > 0 &&
        n.waitingPayments > 6,
      5_000,
    );
    await a.kill();
    // At once, before a stall check can move A's jobs: what is active and what only waits.
    const snapshot = await jobsAt(redis, queue);
    a = await AppInstance.start(bundle, env);
    await redisUp([a]);
    // The restarted instance produces too.
    const late = keys('kill-late', 20);
    expect(await enqueueClicks(a, 'kill-late', 20)).toBe(20);

    const paymentsKey = `bull:${queue}-payments`;
    await waitFor(
      'every click delivered and every payment finished (completed or failed)',
      async () => ({
        clicksMissing: [...clicks, ...late].filter((k) => !clickKeys(standIn).includes(k)).length,
        paymentsFinished:
          Number(await redis.command('ZCARD', `${paymentsKey}:completed`)) +
          Number(await redis.command('ZCARD', `${paymentsKey}:failed`)),
      }),
      (state) => state.clicksMissing === 0 && state.paymentsFinished === payments.length,
      20_000,
    );
    await sleep(300);
    const [statsA, statsB] = [await a.stats(), await b.stats()];
    // What A had out when it died: the stand-in could never answer those (their socket was gone).
    const unanswered = (r: StandInRequest) => r.status === undefined;
    const cutOffClicks = clickKeys(standIn, unanswered);
    const cutOffPayments = paymentKeys(standIn, unanswered);
    expect(cutOffClicks.length).toBeGreaterThan(0);
    expect(cutOffPayments.length).toBeGreaterThan(0);

    // Clicks: every one delivered; only one active when A died may come twice (re-run after the
    // stall check), and every one A had out is.
    const clickCounts = countsOf(clickKeys(standIn));
    expect(exactlyOnce([...clickCounts.keys()], [...clicks, ...late])).toEqual(NOTHING_WRONG);
    const duplicated = [...clickCounts].filter(([, n]) => n > 1).map(([key]) => key);
    expect(duplicated.filter((key) => !snapshot.activeClicks.includes(key))).toEqual([]);
    expect(duplicated.map((key) => clickCounts.get(key))).toEqual(duplicated.map(() => 2));
    expect(cutOffClicks.filter((key) => !snapshot.activeClicks.includes(key))).toEqual([]);
    expect(countsOf(clickKeys(standIn, () => true)).size).toBe(clicks.length + late.length);

    // Payments: never twice, whatever the answer; every one that was only waiting delivered once.
    expect([...countsOf(paymentKeys(standIn, () => true))].filter(([, n]) => n > 1)).toEqual([]);
    const delivered = new Set(paymentKeys(standIn));
    expect(snapshot.waitingPayments.length).toBeGreaterThan(0);
    expect(snapshot.waitingPayments.filter((key) => !delivered.has(key))).toEqual([]);
    // Those A had active were failed as stalled (counted in stalledPayments where the stall check
    // ran), the ones it had out at the stand-in included; every other one was delivered.
    const failed = await failedPayments(redis, queue);
    const failedKeys = failed.map((job) => job.key);
    expect(failed.filter((job) => !/stalled/i.test(job.reason))).toEqual([]);
    expect(failedKeys.filter((key) => !snapshot.activePayments.includes(key))).toEqual([]);
    expect(cutOffPayments.filter((key) => !failedKeys.includes(key))).toEqual([]);
    expect(payments.filter((key) => !delivered.has(key) && !failedKeys.includes(key))).toEqual([]);
    expect(backendOf(statsA).stalledPayments + backendOf(statsB).stalledPayments).toBe(
      failed.length,
    );
    // Both the survivor and the restarted instance delivered.
    expect(backendOf(statsB).processed).toBeGreaterThan(0);
    expect(backendOf(statsA).processed).toBeGreaterThan(0);
    expect(backendOf(statsA).toRedis).toBe(late.length);
  }, 60_000);

  it('Redis stopped: redirects answer at once, clicks go through memory, then Redis again', async () => {
    const standIn = await startStandIn();
    const app = await AppInstance.start(bundle, envFor('multi-stop', standIn));
    await redisUp([app]);

    await redis.stop();
    await waitFor(
      "the backend to see Redis gone (redis: 'down')",
      async () => backendOf(await app.stats()).redis,
      (state) => state === 'down',
      5_000,
    );
    const whileDown = keys('stopped', 100);
    const answersDown = await redirects(app, whileDown);
    expect(answersDown.filter((a) => a.status !== 302 || a.ms >= 1_000)).toEqual([]);
    await waitFor(
      'the 100 clicks delivered from memory',
      () => clickKeys(standIn).length,
      (n) => n >= whileDown.length,
      10_000,
    );
    const down = backendOf(await app.stats());
    expect(app.running).toBe(true);
    expect(down.redis).toBe('down');
    expect(down.toMemory).toBe(whileDown.length);
    expect(down.toRedis).toBe(0);
    await sleep(200);
    expect(exactlyOnce(clickKeys(standIn), whileDown)).toEqual(NOTHING_WRONG);

    await redis.restart();
    await redisUp([app]);
    const afterwards = keys('restarted', 50);
    const answersUp = await redirects(app, afterwards);
    expect(answersUp.filter((a) => a.status !== 302 || a.ms >= 1_000)).toEqual([]);
    await waitFor(
      'all 150 clicks delivered',
      () => clickKeys(standIn).length,
      (n) => n >= whileDown.length + afterwards.length,
      10_000,
    );
    await sleep(200);
    const up = backendOf(await app.stats());
    expect(up.toRedis).toBe(afterwards.length);
    expect(up.toMemory).toBe(whileDown.length);
    expect(exactlyOnce(clickKeys(standIn), [...whileDown, ...afterwards])).toEqual(NOTHING_WRONG);
    expect(app.running).toBe(true);
  }, 40_000);

  it('SIGTERM while Redis is down: the instance drains its memory queue and exits', async () => {
    const standIn = await startStandIn();
    const app = await AppInstance.start(bundle, envFor('multi-term', standIn));
    await redisUp([app]);
    await redis.stop();
    await waitFor(
      "the backend to see Redis gone (redis: 'down')",
      async () => backendOf(await app.stats()).redis,
      (state) => state === 'down',
      5_000,
    );
    const whileDown = keys('term', 20);
    expect((await redirects(app, whileDown)).filter((a) => a.status !== 302)).toEqual([]);
    const stopping = Date.now();
    // Bounded: the workers' close, which never settles while Redis is away, is cut short.
    await app.stop();
    expect(Date.now() - stopping).toBeLessThan(12_000);
    expect(app.running).toBe(false);
    expect(exactlyOnce(clickKeys(standIn), whileDown)).toEqual(NOTHING_WRONG);
  });

  it('Redis hung (SIGSTOP): redirects answer at once, everything delivered once it resumes', async () => {
    const standIn = await startStandIn();
    const app = await AppInstance.start(bundle, envFor('multi-pause', standIn));
    await redisUp([app]);

    redis.pause();
    const pausedAt = Date.now();
    let answers: Awaited<ReturnType<typeof redirects>>;
    try {
      answers = await redirects(app, keys('paused', 60));
      // Longer than the producer's command timeout (2 s): its write gets no answer.
      await sleep(Math.max(0, 3_000 - (Date.now() - pausedAt)));
    } finally {
      redis.resume();
    }
    expect(answers.filter((a) => a.status !== 302 || a.ms >= 1_000)).toEqual([]);
    const later = keys('resumed', 20);
    expect((await redirects(app, later)).filter((a) => a.status !== 302)).toEqual([]);

    const expected = [...keys('paused', 60), ...later];
    await waitFor(
      'every click delivered after Redis resumed',
      () => clickKeys(standIn).length,
      (n) => n >= expected.length,
      15_000,
    );
    // The write that timed out is written again (same job ids) on the backend's next sweep (every
    // 5 s): the jobs exist already, so nothing is added or delivered twice.
    const stats = await waitFor(
      'the batch whose write got no answer to be written again',
      () => app.stats(),
      (s) => backendOf(s).uncertain === 0,
      8_000,
    );
    await sleep(500);
    expect(exactlyOnce(clickKeys(standIn), expected)).toEqual(NOTHING_WRONG);
    expect(app.running).toBe(true);
    expect(backendOf(stats).writeFailures).toBeGreaterThan(0);
    expect(backendOf(stats).toMemory).toBe(0);
    expect(backendOf(stats).toRedis).toBe(expected.length);
    expect(backendOf(stats).buffered).toBe(0);
    expect((await app.stats()).sent).toBe(expected.length);
  }, 40_000);

  it('the cluster answers 503 for a while: what was queued meanwhile is delivered once after', async () => {
    const standIn = await startStandIn();
    const app = await AppInstance.start(bundle, envFor('multi-outage', standIn));
    await redisUp([app]);

    const outageEnds = Date.now() + 2_000;
    standIn.respondWith(() =>
      Date.now() < outageEnds ? { status: 503, body: 'Service Unavailable' } : undefined,
    );
    const during = keys('outage', 50);
    expect(await enqueueClicks(app, 'outage', 50)).toBe(50);
    await waitFor(
      'every click delivered after the outage',
      () => clickKeys(standIn).length,
      (n) => n >= during.length,
      20_000,
    );
    await sleep(300);
    expect(exactlyOnce(clickKeys(standIn), during)).toEqual(NOTHING_WRONG);
    expect(standIn.requests.filter((r) => r.status === 503).length).toBeGreaterThan(0);
    expect(
      standIn.accepted.filter((r) => r.receivedAt.getTime() < outageEnds).map(clickKeyOf),
    ).toEqual([]);
    const stats = await app.stats();
    expect(stats.sent).toBe(during.length);
    expect(stats.failed + stats.expired + stats.dropped).toBe(0);
  }, 40_000);
});

/**
 * One atomic look (a Lua script) at the queue's jobs, by product key: clicks and payments active,
 * and payments waiting that were never taken up (no deferred failure from a stall check). BullMQ's
 * default key layout (`bull:<queue>:…`); a payment's product key is in its body's first line.
 */
async function jobsAt(redis: RedisServer, queue: string) {
  const script = `
    local function keysOf(prefix, list, payment, skipStalled)
      local out = {}
      for _, id in ipairs(redis.call('LRANGE', prefix .. list, 0, -1)) do
        local data = redis.call('HGET', prefix .. id, 'data')
        local stalled = redis.call('HEXISTS', prefix .. id, 'defa') == 1
        if data and not (skipStalled and stalled) then
          local job = cjson.decode(data)
          if payment then
            table.insert(out, cjson.decode(job.body).lines[1].productKey)
          else
            table.insert(out, cjson.decode(job.body).productKey)
          end
        end
      end
      return out
    end
    return {
      keysOf(ARGV[1], 'active', false, false),
      keysOf(ARGV[2], 'active', true, false),
      keysOf(ARGV[2], 'wait', true, true),
    }`;
  const reply = await redis.command(
    'EVAL',
    script,
    '0',
    `bull:${queue}:`,
    `bull:${queue}-payments:`,
  );
  const [activeClicks, activePayments, waitingPayments] = (reply as RespValue[][]).map((list) =>
    list.map(String),
  );
  return {
    activeClicks: activeClicks!,
    activePayments: activePayments!,
    waitingPayments: waitingPayments!,
  };
}

/** The payments queue's failed jobs: product key and failed reason. */
async function failedPayments(redis: RedisServer, queue: string) {
  const prefix = `bull:${queue}-payments:`;
  const ids = (await redis.command('ZRANGE', `${prefix}failed`, '0', '-1')) as string[];
  return Promise.all(
    ids.map(async (id) => {
      const [data, reason] = (await redis.command(
        'HMGET',
        prefix + id,
        'data',
        'failedReason',
      )) as [string, string | null];
      const body = JSON.parse((JSON.parse(data) as { body: string }).body) as {
        lines: { productKey: string }[];
      };
      return { key: body.lines[0]!.productKey, reason: reason ?? '' };
    }),
  );
}
