import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { EsalesBullmqJobData } from '../../lib/bullmq/job-data.js';
import { serveCommands } from '../ipc.js';

/*
 * P10's anchor: bare BullMQ against the same Redis, none of the package. `produce` adds click-sized
 * jobs (the data the backend writes for a click, and its job options) with `addBulk`, 500 a call, a
 * few calls in flight; `consume` then runs a no-op Worker (concurrency 64) until it has completed
 * them all. Each reports its wall time and this process's CPU, so the producer's and the worker's
 * cost per job come apart.
 */

export interface AnchorOptions {
  redisUrl: string;
  queueName: string;
  clusterUrl: string;
}

export interface AnchorMeasured {
  count: number;
  wallMs: number;
  cpuMicros: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as AnchorOptions;
const BATCH = 500;
const IN_FLIGHT = 4;
const CONCURRENCY = 64;
/** As the backend's `jobOptions` for a click: default maxAttempts, finished jobs kept 1 h / 10 000. */
const JOB_OPTIONS = {
  attempts: 20,
  backoff: { type: 'custom' },
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: { age: 3_600, count: 10_000 },
} as const;

const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
connection.on('error', () => undefined);
const queue = new Queue<EsalesBullmqJobData>(options.queueName, { connection });
queue.on('error', () => undefined);
await queue.waitUntilReady();

const customerKey = 'd9528030-509c-4e0f-b585-7168f1e9feca';
const sessionKey = 'b106299c-eac0-4f6f-96d2-93e57c255784';
/** What `jobDataOf` makes of a click (`market, customerKey, sessionKey, id, productKey, variantKey`). */
function clickJob(i: number): { name: string; data: EsalesBullmqJobData; opts: object } {
  const id = randomUUID();
  const productKey = `p${i}`;
  const data: EsalesBullmqJobData = {
    v: 1,
    kind: 'non-esales-click',
    market: 'UK',
    id,
    body: JSON.stringify({
      market: 'UK',
      customerKey,
      sessionKey,
      id,
      productKey,
      variantKey: null,
    }),
    query: '',
    clusterUrl: options.clusterUrl,
    endpoint: `${options.clusterUrl}/api/v1/notifications/non-esales-click`,
    createdAt: Date.now(),
  };
  return {
    name: 'non-esales-click',
    data,
    opts: { ...JOB_OPTIONS, jobId: `non-esales-click-${id}` },
  };
}

function measure(run: () => Promise<number>): Promise<AnchorMeasured> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  return run().then((count) => {
    const used = process.cpuUsage(cpu);
    return { count, wallMs: performance.now() - started, cpuMicros: used.user + used.system };
  });
}

async function produce(count: number): Promise<AnchorMeasured> {
  // Built outside the measurement, as the backend's buffer holds them ready.
  const jobs = Array.from({ length: count }, (_, i) => clickJob(i));
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const batch = jobs.slice(next, next + BATCH);
      next += batch.length;
      await queue.addBulk(batch);
    }
  };
  return measure(async () => {
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    return count;
  });
}

async function consume(count: number): Promise<AnchorMeasured> {
  let completed = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  const worker = new Worker(options.queueName, () => Promise.resolve(), {
    connection: new Redis(options.redisUrl, { maxRetriesPerRequest: null }),
    concurrency: CONCURRENCY,
    autorun: false,
  });
  worker.on('error', () => undefined);
  worker.on('completed', () => {
    if (++completed >= count) done();
  });
  await worker.waitUntilReady();
  try {
    return await measure(async () => {
      void worker.run();
      await all;
      return completed;
    });
  } finally {
    await worker.close();
    await worker.disconnect();
  }
}

serveCommands(
  {
    produce: (n) => produce(Number(n)),
    consume: (n) => consume(Number(n)),
    /** Empties a queue of this Redis (the anchor's, or the memory measure's). */
    obliterate: async (name) => {
      const own = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
      const target = new Queue(String(name), { connection: own });
      target.on('error', () => undefined);
      await target.obliterate({ force: true });
      await target.close();
      own.disconnect();
    },
    close: async () => {
      await queue.close().catch(() => undefined);
      connection.disconnect();
      setImmediate(() => process.exit(0));
    },
  },
  {},
);
