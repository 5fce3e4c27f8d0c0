import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { CustomerKeyAuthentication } from '../../lib/auth/customer-key-authentication.js';
import { jobDataOf, jobIdOf, preparedOf } from '../../lib/bullmq/job-data.js';
import type { EsalesModuleOptions } from '../../lib/config/esales-options.interface.js';
import type { EsalesDeliveryEvent } from '../../lib/delivery/esales-delivery-hooks.interface.js';
import { EsalesBadRequestError } from '../../lib/errors/esales-bad-request.error.js';
import { EsalesCustomerKeyRejectedError } from '../../lib/errors/esales-customer-key-rejected.error.js';
import { EsalesServerError } from '../../lib/errors/esales-server.error.js';
import { EsalesUndeliveredError } from '../../lib/errors/esales-undelivered.error.js';
import { ESALES_DELIVERY_BACKEND } from '../../lib/esales.constants.js';
import { NonEsalesClick } from '../../lib/notifications/index.js';
import { prepareNotification } from '../../lib/notifications/prepare-notification.js';
import { ElevateStandIn } from '../../lib/testing/elevate-stand-in.js';
import { RedisServer } from '../support/redis-server.js';
import { TEST_PRIVATE_KEY, testApp, type TestApp } from '../support/test-app.js';

/*
 * The BullMQ backend in one process, against a real redis-server and the stand-in: the same
 * promises, errors, retries and counters as the in-memory engine, through Redis. The multi-process
 * guarantees (several instances, kill -9) are in multi-instance.e2e-spec.ts.
 */

const CUSTOMER = 'd9528030-509c-4e0f-b585-7168f1e9feca';
const SESSION = 'b106299c-eac0-4f6f-96d2-93e57c255784';
const click = (productKey: string, extra: Record<string, unknown> = {}) => ({
  market: 'UK',
  customerKey: CUSTOMER,
  sessionKey: SESSION,
  productKey,
  ...extra,
});

let redis: RedisServer;
let queueNumber = 0;
const apps: TestApp[] = [];

beforeAll(async () => {
  redis = await RedisServer.start();
});
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});
afterAll(async () => {
  await redis?.stop();
});

/** An app on the BullMQ backend, on a queue of its own unless `queueName` shares one. */
async function bullmqApp(
  options: Partial<EsalesModuleOptions> & {
    queueName?: string;
    worker?: boolean;
    lockDurationMs?: number;
  } = {},
  standIn?: ElevateStandIn,
): Promise<TestApp> {
  const { queueName = `q${++queueNumber}`, worker = true, lockDurationMs, ...rest } = options;
  const t = await testApp({
    ...(standIn ? { standIn } : {}),
    options: {
      delivery: 'bullmq',
      bullmq: {
        redisUrl: redis.url,
        queueName,
        worker,
        ...(lockDurationMs !== undefined ? { lockDurationMs } : {}),
      },
      ...rest,
    },
  });
  apps.push(t);
  await until(() => t.service.getStats().backend['redis'] === 'up');
  return t;
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("delivery: 'bullmq'", () => {
  it('send…() resolves once a worker delivered it through Redis, with the same bytes', async () => {
    const t = await bullmqApp();
    await t.service.sendNonEsalesClick(click('p1', { id: 'a1' }));
    const [request] = t.standIn.accepted;
    expect(request?.body).toEqual({
      market: 'UK',
      customerKey: CUSTOMER,
      sessionKey: SESSION,
      id: 'a1',
      productKey: 'p1',
      variantKey: null,
    });
    const stats = t.service.getStats();
    expect(stats.backend).toMatchObject({ name: 'bullmq', redis: 'up', toRedis: 1, toMemory: 0 });
    expect(stats).toMatchObject({ enqueued: 1, sent: 1 });
  });

  it('keeps the private key out of Redis (the body, and so a token, is there: said in the README)', async () => {
    const t = await bullmqApp();
    const { customerKey, token } = new CustomerKeyAuthentication(TEST_PRIVATE_KEY, 'customer-42');
    await t.service.sendNonEsalesClick(click('p1', { customerKey, token }));
    const keys = (await redis.command('KEYS', '*')) as string[];
    let everything = '';
    for (const key of keys) {
      const type = await redis.command('TYPE', key);
      if (type === 'hash') everything += JSON.stringify(await redis.command('HGETALL', key));
      if (type === 'string') everything += JSON.stringify(await redis.command('GET', key));
      if (type === 'stream')
        everything += JSON.stringify(await redis.command('XRANGE', key, '-', '+'));
    }
    expect(everything).toContain('p1');
    // Said in the README: the body, token included, is in Redis.
    expect(everything).toContain(token);
    expect(everything).not.toContain(TEST_PRIVATE_KEY);
  });

  it.each([
    ['400', { status: 400 }, EsalesBadRequestError],
    ['403', { status: 403 }, EsalesCustomerKeyRejectedError],
    ['404', { status: 404, body: 'no such endpoint' }, EsalesServerError],
  ])('a %s rejects send…() with the same typed error as in memory', async (_name, answer, type) => {
    const t = await bullmqApp();
    t.standIn.respondWith(() => answer);
    const error = await t.service
      .sendNonEsalesClick(click('p1', { id: 'b1' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ kind: 'non-esales-click', notificationId: 'b1', market: 'UK' });
    expect(t.service.getStats()).toMatchObject({ enqueued: 1, rejected: 1 });
  });

  it('retries with the engine’s backoff, in the worker, until accepted', async () => {
    const delivered: EsalesDeliveryEvent[] = [];
    const t = await bullmqApp({ onDelivered: (event) => void delivered.push(event) });
    let calls = 0;
    t.standIn.respondWith(() => (++calls <= 2 ? { status: 500 } : undefined));
    await t.service.sendNonEsalesClick(click('p1'));
    expect(calls).toBe(3);
    expect(delivered).toEqual([expect.objectContaining({ productKey: 'p1', attempts: 3 })]);
  });

  it('a 429 with Retry-After holds back every worker of the queue, not just its own', async () => {
    const standIn = await ElevateStandIn.start({ privateKey: TEST_PRIVATE_KEY });
    try {
      const a = await bullmqApp({ queueName: 'held', retryMaxDelayMs: 2_000 }, standIn);
      const b = await bullmqApp({ queueName: 'held', retryMaxDelayMs: 2_000 }, standIn);
      let first = true;
      standIn.respondWith(() => {
        if (!first) return undefined;
        first = false;
        return { status: 429, headers: { 'Retry-After': '1' } };
      });
      const heldAt = Date.now();
      await a.service.sendNonEsalesClick(click('first'));
      // The 429 came first; after it, nothing reached the stand-in before the hold ended.
      await b.service.sendNonEsalesClick(click('second'));
      const requests = standIn.requests;
      expect(requests.map((r) => r.status)).toEqual([429, 204, 204]);
      const later = requests.slice(1).map((r) => r.receivedAt.getTime() - heldAt);
      for (const ms of later) expect(ms).toBeGreaterThanOrEqual(900);
    } finally {
      for (const app of apps.splice(0)) await app.close();
      await standIn.close();
    }
  });

  it('counts the budget from the notification’s creation: expired, with the last failure as cause', async () => {
    const t = await bullmqApp({ deliveryTimeoutMs: 600, requestTimeoutMs: 200 });
    t.standIn.respondWith(() => ({ status: 503 }));
    const error = await t.service.sendNonEsalesClick(click('p1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EsalesUndeliveredError);
    expect(error).toMatchObject({ reason: 'expired' });
    expect((error as Error).cause).toBeInstanceOf(EsalesServerError);
    expect(t.service.getStats()).toMatchObject({ enqueued: 1, expired: 1 });
  });

  it('an instance without workers settles send…() through queue events when another delivers', async () => {
    const standIn = await ElevateStandIn.start({ privateKey: TEST_PRIVATE_KEY });
    try {
      const producer = await bullmqApp({ queueName: 'shared', worker: false }, standIn);
      const deliverer = await bullmqApp({ queueName: 'shared' }, standIn);
      await producer.service.sendNonEsalesClick(click('p1'));
      standIn.respondWith(() => ({ status: 400 }));
      await expect(producer.service.sendNonEsalesClick(click('p2'))).rejects.toBeInstanceOf(
        EsalesBadRequestError,
      );
      expect(producer.service.getStats()).toMatchObject({ enqueued: 2, sent: 0, rejected: 0 });
      expect(producer.service.getStats().backend).toMatchObject({ toRedis: 2, processed: 0 });
      expect(deliverer.service.getStats()).toMatchObject({ enqueued: 0, sent: 1, rejected: 1 });
    } finally {
      for (const app of apps.splice(0)) await app.close();
      await standIn.close();
    }
  });

  it('a notification added twice (same kind and id) is delivered once', async () => {
    const t = await bullmqApp();
    await Promise.all([
      t.service.sendNonEsalesClick(click('p1', { id: 'same' })),
      t.service.sendNonEsalesClick(click('p1', { id: 'same' })),
    ]);
    await t.service.sendNonEsalesClick(click('p1', { id: 'same' }));
    expect(t.standIn.accepted).toHaveLength(1);
  });

  it('a payment’s dedupeKey holds across instances (its job id), and is given back when refused', async () => {
    const standIn = await ElevateStandIn.start({ privateKey: TEST_PRIVATE_KEY });
    const payment = {
      market: 'UK',
      customerKey: CUSTOMER,
      sessionKey: SESSION,
      lines: [{ productKey: 'order-line', quantity: 1, sellingPrice: 100 }],
    };
    try {
      const a = await bullmqApp({ queueName: 'pay' }, standIn);
      const b = await bullmqApp({ queueName: 'pay' }, standIn);
      await a.service.sendPayment(payment, { dedupeKey: 'order-1' });
      // Another instance's own dedupe window does not know the key; the job id does.
      await b.service.sendPayment(payment, { dedupeKey: 'order-1' });
      expect(standIn.requestsOf('payment')).toHaveLength(1);

      standIn.respondWith(() => ({ status: 400 }));
      await expect(a.service.sendPayment(payment, { dedupeKey: 'order-2' })).rejects.toBeInstanceOf(
        EsalesBadRequestError,
      );
      standIn.respondWith();
      // Elevate refused it, so it counted nothing: the same key may go again, from any instance.
      await b.service.sendPayment(payment, { dedupeKey: 'order-2' });
      expect(standIn.requestsOf('payment').map((r) => r.status)).toEqual([204, 400, 204]);
    } finally {
      for (const app of apps.splice(0)) await app.close();
      await standIn.close();
    }
  });

  it('job ids are what BullMQ accepts: no colon, never all digits', () => {
    for (const id of ['123', 'a:b', 'x'.repeat(300), 'ok-id_1']) {
      const prepared = prepareNotification(NonEsalesClick, click('p', { id }), {
        defaultMarket: 'UK',
        privateKey: () => undefined,
      });
      if (Array.isArray(prepared)) continue;
      const jobId = jobIdOf(prepared);
      expect(jobId).not.toContain(':');
      expect(jobId).not.toMatch(/^\d+$/);
      expect(jobId.length).toBeLessThan(120);
    }
  });

  it('finished jobs do not pile up: they are removed after their count or age', async () => {
    const t = await bullmqApp({ queueName: 'kept' });
    await t.service.sendNonEsalesClick(click('p1'));
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('kept', { connection });
    try {
      const [job] = await queue.getCompleted();
      expect(job?.opts.removeOnComplete).toEqual({ age: 3_600, count: 10_000 });
      expect(job?.opts.removeOnFail).toEqual({ age: 3_600, count: 10_000 });
      // BullMQ never fails a job for its attempts: the processor decides.
      expect(job?.opts.attempts).toBe(1_000_000);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  it('while Redis is away, enqueue…() stays synchronous and delivers from memory; then Redis again', async () => {
    const t = await bullmqApp();
    await redis.stop();
    try {
      await until(() => t.service.getStats().backend['redis'] === 'down');
      for (let i = 0; i < 20; i++) t.service.enqueueNonEsalesClick(click(`down-${i}`));
      await t.standIn.waitForRequests(20);
      expect(t.service.getStats().backend).toMatchObject({ toMemory: 20, toRedis: 0 });
    } finally {
      await redis.restart();
    }
    await until(() => t.service.getStats().backend['redis'] === 'up', 10_000);
    for (let i = 0; i < 10; i++) t.service.enqueueNonEsalesClick(click(`up-${i}`));
    await until(() => t.service.getStats().sent === 30);
    expect(t.service.getStats().backend).toMatchObject({ toMemory: 20, toRedis: 10 });
    expect(t.service.getStats()).toMatchObject({ enqueued: 30, sent: 30 });
    expect(t.standIn.accepted).toHaveLength(30);
  });

  it("reuses the app's own ioredis connection without changing or closing it", async () => {
    const own = new Redis(redis.url);
    try {
      const t = await testApp({
        options: { delivery: 'bullmq', bullmq: { connection: own, queueName: 'own' } },
      });
      await until(() => t.service.getStats().backend['redis'] === 'up');
      await t.service.sendNonEsalesClick(click('p1'));
      expect(t.standIn.accepted).toHaveLength(1);
      await t.close();
      // Still the app's: open, with its own settings.
      expect(own.status).toBe('ready');
      expect(own.options.enableOfflineQueue).toBe(true);
      expect(await own.ping()).toBe('PONG');
    } finally {
      own.disconnect();
    }
  });

  it('boots while Redis is down, delivering from memory until it is up', async () => {
    const port = redis.port;
    await redis.stop();
    let t: TestApp;
    try {
      t = await testApp({
        options: {
          delivery: 'bullmq',
          bullmq: { redisUrl: `redis://127.0.0.1:${port}`, queueName: 'boot' },
        },
      });
      apps.push(t);
      expect(t.service.getStats().backend['redis']).toBe('down');
      await t.service.sendNonEsalesClick(click('p1'));
      expect(t.service.getStats().backend).toMatchObject({ toMemory: 1 });
    } finally {
      await redis.restart();
    }
    await until(() => t.service.getStats().backend['redis'] === 'up', 10_000);
    await t.service.sendNonEsalesClick(click('p2'));
    expect(t.service.getStats().backend).toMatchObject({ toMemory: 1, toRedis: 1 });
  });
});

/** White-box access to the backend's internals, for what a test cannot provoke from outside. */
interface BackendInternals {
  pending: Map<string, Pending[]>;
  sweep(): Promise<void>;
  rewriteUncertain(): Promise<void>;
  producerQueues: { notifications: Queue; payments: Queue } | undefined;
}
interface Pending {
  readonly notification: unknown;
  readonly endpoint: string;
  readonly completion: { resolve(): void; reject(error: unknown): void } | undefined;
  readonly queuedAt: number;
  readonly giveUpAt: number;
}
const internalsOf = (t: TestApp): BackendInternals =>
  t.app.get<unknown>(ESALES_DELIVERY_BACKEND) as BackendInternals;

const prepared = (id: string) => {
  const notification = prepareNotification(NonEsalesClick, click('p', { id }), {
    defaultMarket: 'UK',
    privateKey: () => undefined,
  });
  if (Array.isArray(notification)) throw new Error('expected a valid notification');
  return notification;
};

describe("delivery: 'bullmq' (review fixes)", () => {
  it('sweep: a job retried, then completed, settles as sent although BullMQ kept its failedReason', async () => {
    const standIn = await ElevateStandIn.start({ privateKey: TEST_PRIVATE_KEY });
    try {
      const producer = await bullmqApp({ queueName: 'swept', worker: false }, standIn);
      const deliverer = await bullmqApp({ queueName: 'swept' }, standIn);
      let calls = 0;
      standIn.respondWith(() => (++calls === 1 ? { status: 500 } : undefined));
      await deliverer.service.sendNonEsalesClick(click('p', { id: 'swept-1' }));
      const jobId = jobIdOf(prepared('swept-1'));
      const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
      const queue = new Queue('swept', { connection });
      try {
        const job = await queue.getJob(jobId);
        expect(job?.failedReason).toBeTruthy();
      } finally {
        await queue.close();
        connection.disconnect();
      }
      // As if the producer had missed the job's events: only the sweep can settle it.
      const internals = internalsOf(producer);
      const settled = new Promise<string>((resolve) => {
        internals.pending.set(jobId, [
          {
            notification: prepared('swept-1'),
            endpoint: `${standIn.url}/x`,
            completion: { resolve: () => resolve('sent'), reject: () => resolve('rejected') },
            queuedAt: Date.now() - 60_000,
            giveUpAt: Date.now() + 60_000,
          },
        ]);
      });
      await internals.sweep();
      expect(await settled).toBe('sent');
      expect(producer.service.getStats().failed).toBe(0);
    } finally {
      for (const app of apps.splice(0)) await app.close();
      await standIn.close();
    }
  });

  it('sweep: gives up on a job still waiting past its budget and grace (no worker anywhere)', async () => {
    const t = await bullmqApp({ worker: false });
    const outcome = t.service
      .sendNonEsalesClick(click('p', { id: 'nobody' }))
      .catch((e: unknown) => e);
    await until(() => t.service.getStats().backend['toRedis'] === 1);
    const internals = internalsOf(t);
    for (const [id, waiting] of internals.pending) {
      internals.pending.set(
        id,
        waiting.map((p) => ({ ...p, queuedAt: Date.now() - 60_000, giveUpAt: Date.now() - 1 })),
      );
    }
    await internals.sweep();
    const error = await outcome;
    expect(error).toBeInstanceOf(EsalesUndeliveredError);
    expect(error).toMatchObject({ reason: 'lost' });
  });

  it('a write refused part-way (ReplyError) is re-written with the same ids, not delivered from memory', async () => {
    const t = await bullmqApp();
    const internals = internalsOf(t);
    const payments = internals.producerQueues!.payments;
    const addBulk = payments.addBulk.bind(payments);
    let refused = false;
    // Redis took the jobs, then refused a later command of the pipeline (e.g. OOM).
    payments.addBulk = async (jobs) => {
      const added = await addBulk(jobs);
      if (refused) return added;
      refused = true;
      const error = new Error('OOM command not allowed when used memory > maxmemory');
      error.name = 'ReplyError';
      throw error;
    };
    const payment = {
      market: 'UK',
      customerKey: CUSTOMER,
      sessionKey: SESSION,
      lines: [{ productKey: 'order-line', quantity: 1, sellingPrice: 100 }],
    };
    t.service.enqueueNonEsalesClick(click('with-payment'));
    t.service.enqueuePayment(payment);
    await until(() => t.service.getStats().backend['uncertain'] === 1);
    expect(t.service.getStats().backend).toMatchObject({ toMemory: 0, toRedis: 1 });
    await internals.rewriteUncertain();
    await until(() => t.service.getStats().sent === 2);
    expect(t.service.getStats().backend).toMatchObject({ toMemory: 0, toRedis: 2, uncertain: 0 });
    expect(t.standIn.requestsOf('payment')).toHaveLength(1);
  });

  it('counts its own HTTP attempts: a job re-offered while the breaker is open spends none', async () => {
    const delivered: EsalesDeliveryEvent[] = [];
    const t = await bullmqApp({
      lockDurationMs: 200,
      requestTimeoutMs: 200,
      breakerThreshold: 1,
      breakerCooldownMs: 1_500,
      retryBaseDelayMs: 10,
      maxAttempts: 2,
      onDelivered: (event) => void delivered.push(event),
    });
    let calls = 0;
    t.standIn.respondWith(() => (++calls === 1 ? { status: 500 } : undefined));
    await t.service.sendNonEsalesClick(click('p', { id: 'breaker' }));
    // Picked up several times while the breaker was open (the lane wait is capped at the lock),
    // yet only two HTTP attempts, and maxAttempts (2) not exceeded by those pickups.
    expect(calls).toBe(2);
    expect(delivered).toEqual([expect.objectContaining({ attempts: 2 })]);
  });

  it('keeps a payment’s clear dedupeKey out of Redis', async () => {
    const t = await bullmqApp();
    await t.service.sendPayment(
      {
        market: 'UK',
        customerKey: CUSTOMER,
        sessionKey: SESSION,
        lines: [{ productKey: 'order-line', quantity: 1, sellingPrice: 100 }],
      },
      { dedupeKey: 'order-secret-4711' },
    );
    const keys = (await redis.command('KEYS', '*')) as string[];
    let everything = '';
    for (const key of keys) {
      if ((await redis.command('TYPE', key)) === 'hash') {
        everything += JSON.stringify(await redis.command('HGETALL', key));
      }
    }
    expect(everything).toContain('order-line');
    expect(everything).not.toContain('order-secret-4711');
  });
});

describe('job data', () => {
  it('round-trips a notification through what a job holds, keys and token read back from the body', () => {
    const { customerKey, token } = new CustomerKeyAuthentication(TEST_PRIVATE_KEY, 'v-1');
    const prepared = prepareNotification(
      NonEsalesClick,
      click('p1', { customerKey, token, variantKey: 'v1' }),
      { defaultMarket: 'UK', privateKey: () => undefined },
    );
    if (Array.isArray(prepared)) throw new Error('expected a valid notification');
    const target = { clusterUrl: 'http://127.0.0.1:1', endpoint: 'http://127.0.0.1:1/x' };
    const data = JSON.parse(JSON.stringify(jobDataOf(prepared, target, 1))) as unknown;
    expect(preparedOf(data)).toEqual(prepared);
  });

  it('refuses what is not one of its jobs', () => {
    for (const data of [
      null,
      {},
      { v: 2 },
      { v: 1, kind: 'nope', body: '{}' },
      { v: 1, kind: 'click', body: '{' },
    ]) {
      expect(preparedOf(data)).toBeUndefined();
    }
  });
});
