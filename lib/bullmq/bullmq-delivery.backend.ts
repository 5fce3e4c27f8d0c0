import { Logger } from '@nestjs/common';
import {
  DelayedError,
  Queue,
  QueueEvents,
  RateLimitError,
  UnrecoverableError,
  Worker,
  type Job,
  type JobsOptions,
} from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { describeError } from '../common/app-code.js';
import { RateLimitedLog } from '../common/rate-limited-log.js';
import type { ResolvedBullmqSettings } from '../config/resolve-esales-options.js';
import type { AttemptFailure } from '../delivery/attempt.js';
import type { DeliveryTarget } from '../delivery/delivery-engine.js';
import type { DeliveryOutcome, SettledNotification } from '../delivery/delivery-observer.js';
import { maxInFlightOf } from '../delivery/delivery-settings.interface.js';
import type {
  EsalesDeliveryBackend,
  EsalesDeliveryBackendHealth,
  EsalesDeliveryBackendStats,
  EsalesDeliveryCompletion,
  EsalesDeliveryContext,
} from '../delivery/esales-delivery-backend.interface.js';
import { ESALES_LOGGER_CONTEXT } from '../esales.constants.js';
import type { EsalesDeliveryError } from '../errors/esales.error.js';
import type { PreparedNotification } from '../notifications/notification-kind.js';
import {
  hasDedupeKey,
  jobDataOf,
  jobIdOf,
  preparedOf,
  type EsalesBullmqJobData,
} from './job-data.js';
import {
  errorOfReport,
  failureReportOf,
  isOutcomeReport,
  undeliveredError,
  type FailureReport,
  type OutcomeReport,
} from './outcome-report.js';

/** Most notifications in one `addBulk`. */
export const BATCH_SIZE = 200;
/** How long a notification waits in the local buffer for others to share its `addBulk`. */
export const BATCH_DELAY_MS = 2;
/** Finished click-like jobs are kept this long (and at most `KEPT_JOBS`): their id blocks a re-add. */
export const KEEP_FINISHED_S = 60 * 60;
/** Finished payments are kept a day, as long as the in-memory `dedupeKey` window. */
export const KEEP_FINISHED_PAYMENTS_S = 24 * 60 * 60;
export const KEPT_JOBS = 10_000;
/** A `send…()` whose outcome never arrives is given up this long after its budget ended. */
const OUTCOME_GRACE_MS = 60_000;
const SWEEP_INTERVAL_MS = 5_000;
/** Queue events are read while outcomes are awaited, and for this long after the last one. */
const EVENTS_IDLE_MS = 60_000;
/** BullMQ checks a manual rate limit only when the worker has a limiter: one that never binds. */
const UNBINDING_LIMITER = { max: 1_000_000_000, duration: 1_000 } as const;
/** How long a forced worker close may take before the connections are cut under it. */
const FORCED_CLOSE_MS = 500;
/** How long a job the engine could not take (shutting down, full) waits before it is offered again. */
const REOFFER_DELAY_MS = 1_000;
/**
 * BullMQ's own attempt count for every job: never reached. The processor alone decides when a job
 * is done (it counts HTTP attempts in the job's data); BullMQ only retries what it is told to.
 */
const NEVER_FAIL_ATTEMPTS = 1_000_000;

type BulkJobs = Parameters<Queue['addBulk']>[0];

/** A write that surely never reached Redis. */
class NotWritten extends Error {}

/**
 * Whether a failed write surely never reached Redis: the producer has no offline queue, so a
 * command it cannot send at once fails with this, before anything is written. Anything else (a
 * timeout, a connection cut, a `ReplyError` such as OOM) may have written part of the batch:
 * `addBulk` is a pipeline, not a transaction, so the jobs before the failing one were added.
 */
const surelyNotWritten = (error: unknown): boolean =>
  error instanceof NotWritten ||
  (error instanceof Error && /isn't writeable and enableOfflineQueue/.test(error.message));

/** Whether Elevate surely did not count it: refused, or never arrived (a payment's key is free). */
const givesKeyBack = (report: OutcomeReport): boolean =>
  report.outcome === 'rejected' || (report.outcome !== 'sent' && !report.mayHaveArrived);

/** Thrown to BullMQ for a retry: `backoffStrategy` reads the delay from it. */
class RetryLater extends Error {
  constructor(
    readonly delayMs: number,
    cause: EsalesDeliveryError,
  ) {
    super(cause.message);
    this.name = 'RetryLater';
  }
}

/** What earlier attempts of a job left in its data (they may have run in another instance). */
interface Earlier {
  readonly failure: FailureReport | undefined;
  readonly mayHaveArrived: boolean;
  /** When the notification was queued (epoch ms). */
  readonly createdAt: number;
}

interface Pending {
  readonly notification: PreparedNotification;
  readonly endpoint: string;
  readonly completion: EsalesDeliveryCompletion | undefined;
  readonly queuedAt: number;
  readonly giveUpAt: number;
}

interface Buffered {
  readonly notification: PreparedNotification;
  readonly target: DeliveryTarget;
  readonly completion: EsalesDeliveryCompletion | undefined;
  readonly createdAt: number;
}

/** Connection settings for the producer: fail fast, never queue commands while Redis is away. */
const PRODUCER_CONNECTION: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  // A hung Redis (answering nothing) fails a write in seconds, not minutes.
  commandTimeout: 2_000,
  // Reconnect soon after Redis is back: new notifications go to Redis again from then on.
  retryStrategy: (times: number) => Math.min(100 * times, 1_000),
};
/** Workers and queue events wait for Redis as long as it takes (BullMQ's own requirement). */
const BLOCKING_CONNECTION: RedisOptions = {
  maxRetriesPerRequest: null,
  retryStrategy: (times: number) => Math.min(100 * times, 1_000),
};

const isRedisInstance = (value: unknown): value is Redis =>
  typeof (value as { duplicate?: unknown } | null)?.duplicate === 'function';

/**
 * The BullMQ delivery backend (`delivery: 'bullmq'`): notifications are written to Redis in small
 * batches and delivered by workers in any instance, with the same attempt, retry rules, breaker and
 * concurrency limit as the in-memory engine.
 *
 * - **Producer:** `enqueue` only pushes onto a local buffer (O(1), no I/O awaited); `addBulk`
 *   writes it every few milliseconds or every 200 notifications on a connection without an offline
 *   queue. While Redis is unreachable (or a write fails), notifications go to the in-memory engine
 *   and are delivered from there: each lives in exactly one place.
 * - **Workers** (unless `worker: false`): one per queue, payments on a queue of their own whose
 *   stalled jobs are failed, never re-run (a payment cannot be deduplicated by Elevate). A 429 or
 *   503 with `Retry-After` rate-limits the whole queue (every worker waits); other retries are
 *   BullMQ retries with the engine's backoff; the budget counts from the notification's creation.
 * - **Outcomes:** a job's return value is its outcome (`sent`, `rejected`, `failed`, `expired`);
 *   `send…()` settles through BullMQ's queue events, on any instance.
 */
export class BullmqDeliveryBackend implements EsalesDeliveryBackend {
  readonly name = 'bullmq';
  private readonly logger = new Logger(ESALES_LOGGER_CONTEXT);
  private warnings!: RateLimitedLog;
  private context!: EsalesDeliveryContext;
  private readonly owned: Redis[] = [];
  private producer!: Redis;
  /** The producer's queues, made once its connection is first ready. */
  private producerQueues: { readonly notifications: Queue; readonly payments: Queue } | undefined;
  /** Makes the producer's queues when they are missing and the connection is ready. */
  private makeQueues: () => void = () => undefined;
  /** The workers' queues (rate limits, job counts): on a connection that waits for Redis. */
  private queues!: { readonly notifications: Queue; readonly payments: Queue };
  /** The connection of the workers' queues (rate limits, job lookups, the events' start). */
  private shared!: Redis;
  /**
   * BullMQ's queue events, read only while someone here waits for an outcome (`send…()`, a
   * payment's `dedupeKey`): reading every job's events costs each instance CPU for nothing when
   * it only enqueues. Started from the stream's last id, so no event in between is missed.
   */
  private events: QueueEvents[] | undefined;
  private eventsStarting: Promise<void> | undefined;
  private idleSince = Date.now();
  private workers: Worker[] = [];
  /** Who waits for a job's outcome here: `send…()` calls, and payments with a `dedupeKey`. */
  private readonly pending = new Map<string, Pending[]>();
  private sweeping = false;
  private buffer: Buffered[] = [];
  private writing = 0;
  /** Batches whose write got no answer: written again (same job ids) once Redis answers. */
  private readonly uncertain: {
    batch: readonly Buffered[];
    clicks: BulkJobs;
    payments: BulkJobs;
  }[] = [];
  private uncertainCount = 0;
  private rewriting = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly flushWaiters = new Set<() => void>();
  private closed = false;
  private backoff!: ExponentialBackoff<unknown>;
  private readonly counts = {
    toRedis: 0,
    toMemory: 0,
    writeFailures: 0,
    stalledPayments: 0,
    processed: 0,
  };

  constructor(private readonly settings: ResolvedBullmqSettings) {}

  /** Connections to Redis: the app's (duplicated, never changed or closed by us) or our own. */
  private connection(overrides: RedisOptions): Redis {
    const { connection, redisUrl } = this.settings;
    let redis: Redis;
    if (isRedisInstance(connection)) redis = connection.duplicate(overrides);
    else if (redisUrl !== undefined) redis = new Redis(redisUrl, overrides);
    else redis = new Redis({ ...(connection as RedisOptions), ...overrides });
    // Errors surface as the connection's status; unhandled, ioredis would crash the process.
    redis.on('error', (error: unknown) =>
      this.warnings.warn(
        'bullmq:redis',
        () =>
          `Redis (BullMQ delivery): ${describeError(error)}; new notifications are delivered from memory meanwhile`,
      ),
    );
    this.owned.push(redis);
    return redis;
  }

  start(context: EsalesDeliveryContext): Promise<void> {
    this.context = context;
    const { settings } = context;
    this.warnings = new RateLimitedLog(this.logger, settings.warnIntervalMs);
    this.backoff = new ExponentialBackoff({
      initialDelay: settings.retryBaseDelayMs,
      maxDelay: settings.retryMaxDelayMs,
    });
    const { queueName } = this.settings;
    const names = { notifications: queueName, payments: `${queueName}-payments` } as const;
    this.producer = this.connection(PRODUCER_CONNECTION);
    // BullMQ sets a connection up when the Queue is made, and on a connection without an offline
    // queue that fails while Redis is away: the producer's queues are made once it is ready.
    const makeQueues = (): void => {
      if (this.producerQueues || this.closed || this.producer.status !== 'ready') return;
      const queueOptions = { connection: this.producer, skipWaitingForReady: true } as const;
      const queues = {
        notifications: new Queue(names.notifications, queueOptions),
        payments: new Queue(names.payments, queueOptions),
      };
      for (const queue of Object.values(queues)) queue.on('error', () => undefined);
      this.producerQueues = queues;
      // Their setup (INFO, once the connection is ready) may fail: queues whose setup failed stay
      // broken, so they are dropped and made again on the next 'ready' (or sweep).
      void Promise.all(Object.values(queues).map((queue) => queue.waitUntilReady())).catch(() => {
        if (this.producerQueues !== queues) return;
        this.producerQueues = undefined;
        for (const queue of Object.values(queues)) {
          void settlesWithin(queue.close(), 1_000);
        }
      });
    };
    this.makeQueues = makeQueues;
    makeQueues();
    this.producer.on('ready', () => {
      makeQueues();
      void this.rewriteUncertain();
    });
    const shared = (this.shared = this.connection(BLOCKING_CONNECTION));
    this.queues = {
      notifications: new Queue(names.notifications, { connection: shared }),
      payments: new Queue(names.payments, { connection: shared }),
    };
    for (const queue of Object.values(this.queues)) queue.on('error', () => undefined);
    if (this.settings.worker) this.startWorkers();
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS).unref();
    // Nothing here waits for Redis: the app boots (and delivers from memory) while it is away.
    return Promise.resolve();
  }

  private startWorkers(): void {
    const { settings } = this.context;
    const concurrency = maxInFlightOf(settings.concurrency);
    const common = {
      concurrency,
      limiter: UNBINDING_LIMITER,
      lockDuration: this.settings.lockDurationMs,
      stalledInterval: this.settings.stalledIntervalMs,
      settings: {
        backoffStrategy: (_attempts: number, _type?: string, error?: Error) =>
          error instanceof RetryLater ? error.delayMs : settings.retryBaseDelayMs,
      },
    };
    for (const [queue, maxStalledCount] of [
      [this.queues.notifications, 1],
      // A payment in flight when its worker died may have reached Elevate: failed, not re-run.
      [this.queues.payments, 0],
    ] as const) {
      const worker = new Worker<EsalesBullmqJobData, OutcomeReport>(
        queue.name,
        (job, token) => this.process(queue, job, token),
        {
          ...common,
          maxStalledCount,
          connection: this.connection(BLOCKING_CONNECTION),
        },
      );
      worker.on('error', () => undefined);
      // A payment Elevate surely did not count gives its dedupeKey (its job id) back at once.
      worker.on('completed', (job: Job<EsalesBullmqJobData>, report: unknown) => {
        if (!hasDedupeKey(job.data) || !isOutcomeReport(report)) return;
        if (givesKeyBack(report)) void job.remove().catch(() => undefined);
      });
      // Our processor returns every outcome and BullMQ never runs out of attempts: a job failed
      // for good is one that is not ours, or one BullMQ failed itself. Observers hear of it here.
      // A stalled payment is marked by the stall check and failed (`UnrecoverableError`, "job
      // stalled more than allowable limit") by the worker that next takes it up: reported there.
      worker.on('failed', (job: Job<EsalesBullmqJobData> | undefined, error: Error) => {
        if (!job || job.finishedOn === undefined) return;
        this.reportFailedJob(job, /stalled/i.test(error.message) ? 'stalled' : 'lost');
      });
      if (maxStalledCount === 0) {
        worker.on('stalled', () => {
          this.counts.stalledPayments++;
          this.warnings.warn(
            'bullmq:stalled-payment',
            () =>
              `A payment was in flight when its worker stopped: it is failed, not sent again ` +
              `(${this.counts.stalledPayments} so far)`,
          );
        });
      }
      this.workers.push(worker);
    }
  }

  // --- producer ---------------------------------------------------------------------------

  enqueue(
    notification: PreparedNotification,
    target: DeliveryTarget,
    completion?: EsalesDeliveryCompletion,
  ): boolean {
    const { maxQueueSize } = this.context.settings;
    // Redis away, shutting down, or more waiting for a write than the in-memory queue would hold.
    if (
      this.closed ||
      !this.producerQueues ||
      this.producer.status !== 'ready' ||
      this.buffer.length + this.writing + this.uncertainCount >= maxQueueSize
    ) {
      this.counts.toMemory++;
      return this.context.deliverInMemory(notification, target, completion);
    }
    this.context.enqueued(notification);
    this.buffer.push({ notification, target, completion, createdAt: Date.now() });
    if (this.buffer.length >= BATCH_SIZE) this.write();
    else this.flushTimer ??= setTimeout(() => this.write(), BATCH_DELAY_MS);
    return true;
  }

  /** Writes what is buffered, `BATCH_SIZE` at a time. */
  private write(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, BATCH_SIZE);
      this.writing += batch.length;
      void this.writeBatch(batch).finally(() => {
        this.writing -= batch.length;
        this.notifyFlushed();
      });
    }
  }

  private async writeBatch(batch: readonly Buffered[]): Promise<void> {
    const { deliveryTimeoutMs } = this.context.settings;
    const clicks: BulkJobs = [];
    const payments: BulkJobs = [];
    for (const { notification, target, completion, createdAt } of batch) {
      const jobId = jobIdOf(notification);
      // Listened for before it is written: the outcome may come back before addBulk resolves.
      if (completion || notification.dedupeKey !== undefined) {
        this.listen(jobId, {
          notification,
          endpoint: target.endpoint,
          completion,
          queuedAt: createdAt,
          giveUpAt: createdAt + deliveryTimeoutMs + OUTCOME_GRACE_MS,
        });
      }
      const payment = notification.kind === 'payment';
      const job = {
        name: notification.kind,
        data: jobDataOf(notification, target, createdAt),
        opts: this.jobOptions(jobId, payment),
      };
      (payment ? payments : clicks).push(job);
    }
    if (this.pending.size > 0 && !this.events) {
      // Listening before the write: the outcome may be in the stream before addBulk resolves.
      await settlesWithin(this.listenForOutcomes(), 1_000);
    }
    const queues = this.producerQueues;
    const [clicksWritten, paymentsWritten] = await Promise.allSettled([
      this.addTo(queues?.notifications, clicks),
      this.addTo(queues?.payments, payments),
    ]);
    // Each queue on its own: one may have been written while the other failed.
    for (const [result, payment] of [
      [clicksWritten, false],
      [paymentsWritten, true],
    ] as const) {
      const part = batch.filter((b) => (b.notification.kind === 'payment') === payment);
      if (part.length === 0) continue;
      if (result.status === 'fulfilled') {
        this.counts.toRedis += part.length;
        continue;
      }
      const error: unknown = result.reason;
      this.counts.writeFailures++;
      if (!surelyNotWritten(error)) {
        // Sent, but no answer (a timeout, a connection lost mid-write) or refused part-way (a
        // ReplyError such as OOM: addBulk is a pipeline, the jobs before it were added). They are
        // written again, same job ids, once Redis answers: a job that exists is not added twice.
        this.uncertain.push({
          batch: part,
          clicks: payment ? [] : clicks,
          payments: payment ? payments : [],
        });
        this.uncertainCount += part.length;
        this.warnings.warn(
          'bullmq:uncertain',
          () =>
            `Writing ${part.length} notification(s) to Redis failed or got no answer ` +
            `(${describeError(error)}): writing them again (same job ids) once Redis answers`,
        );
        continue;
      }
      // Not written (the producer has no offline queue: a command it cannot send fails at once).
      // These go to the in-memory engine instead, and are delivered from there.
      this.warnings.warn(
        'bullmq:write',
        () =>
          `Could not write ${part.length} notification(s) to Redis (${describeError(error)}): ` +
          'delivering them from memory',
      );
      for (const { notification } of part) {
        const id = jobIdOf(notification);
        const waiting = this.pending.get(id)?.filter((p) => p.notification !== notification);
        if (waiting?.length) this.pending.set(id, waiting);
        else this.pending.delete(id);
      }
      for (const { notification, target, completion } of part) {
        this.counts.toMemory++;
        this.context.deliverInMemory(notification, target, completion, true);
      }
    }
  }

  private async addTo(queue: Queue | undefined, jobs: BulkJobs): Promise<void> {
    if (jobs.length === 0) return;
    if (!queue) throw new NotWritten('the connection to Redis was never ready');
    await queue.addBulk(jobs);
  }

  private async add(clicks: BulkJobs, payments: BulkJobs): Promise<void> {
    const queues = this.producerQueues;
    if (!queues) throw new NotWritten('the connection to Redis was never ready');
    await Promise.all([
      this.addTo(queues.notifications, clicks),
      this.addTo(queues.payments, payments),
    ]);
  }

  /** Writes the batches whose earlier write got no answer again, oldest first, while Redis answers. */
  private async rewriteUncertain(): Promise<void> {
    if (this.rewriting || this.producer.status !== 'ready') return;
    this.rewriting = true;
    try {
      while (this.uncertain.length > 0 && this.producer.status === 'ready') {
        const next = this.uncertain[0]!;
        await this.add(next.clicks, next.payments);
        this.uncertain.shift();
        this.uncertainCount -= next.batch.length;
        this.counts.toRedis += next.batch.length;
      }
    } catch {
      // Still no answer: tried again on the next reconnection or sweep.
    } finally {
      this.rewriting = false;
      this.notifyFlushed();
    }
  }

  private jobOptions(jobId: string, payment: boolean): JobsOptions {
    const keep = payment ? KEEP_FINISHED_PAYMENTS_S : KEEP_FINISHED_S;
    return {
      jobId,
      // The processor decides when a job is done; BullMQ must never fail one for its attempts.
      attempts: NEVER_FAIL_ATTEMPTS,
      backoff: { type: 'custom' },
      removeOnComplete: { age: keep, count: KEPT_JOBS },
      removeOnFail: { age: keep, count: KEPT_JOBS },
    };
  }

  flush(timeoutMs: number): Promise<boolean> {
    if (this.buffer.length > 0) this.write();
    const handedOver = (): boolean =>
      this.writing === 0 && this.buffer.length === 0 && this.uncertainCount === 0;
    if (handedOver()) return Promise.resolve(true);
    void this.rewriteUncertain();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.flushWaiters.delete(done);
        resolve(handedOver());
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.flushWaiters.add(done);
    });
  }

  private notifyFlushed(): void {
    if (this.writing > 0 || this.buffer.length > 0 || this.uncertainCount > 0) return;
    for (const done of [...this.flushWaiters]) done();
    this.flushWaiters.clear();
  }

  // --- outcomes heard through queue events ---------------------------------------------------

  private listen(jobId: string, pending: Pending): void {
    const waiting = this.pending.get(jobId);
    if (waiting) waiting.push(pending);
    else this.pending.set(jobId, [pending]);
  }

  /** Starts reading the queues' events (once), each from its stream's last entry. */
  private listenForOutcomes(): Promise<void> {
    this.eventsStarting ??= (async () => {
      const names = [this.queues.notifications.name, this.queues.payments.name];
      const events: QueueEvents[] = [];
      for (const name of names) {
        const last = (await this.shared.xrevrange(`bull:${name}:events`, '+', '-', 'COUNT', 1))[0];
        const queueEvents = new QueueEvents(name, {
          connection: this.connection(BLOCKING_CONNECTION),
          lastEventId: last?.[0] ?? '0-0',
        });
        queueEvents.on('error', () => undefined);
        queueEvents.on('completed', ({ jobId, returnvalue }) => this.heard(jobId, returnvalue));
        queueEvents.on('failed', ({ jobId, failedReason }) =>
          this.heardFailed(jobId, failedReason),
        );
        events.push(queueEvents);
      }
      this.events = events;
    })().catch(() => {
      // Redis went away meanwhile: tried again with the next write; the sweep covers the gap.
      this.eventsStarting = undefined;
    });
    return this.eventsStarting;
  }

  /** No one has waited for an outcome for a minute: stop reading events. */
  private async stopListeningIfIdle(now: number): Promise<void> {
    if (this.pending.size > 0) {
      this.idleSince = now;
      return;
    }
    if (!this.events || now - this.idleSince < EVENTS_IDLE_MS) return;
    const events = this.events;
    this.events = undefined;
    this.eventsStarting = undefined;
    await Promise.all(events.map((queueEvents) => settlesWithin(queueEvents.close(), 1_000)));
  }

  /** The outcome of `jobId` (its return value) reached this instance: settles who waits for it. */
  private heard(jobId: string, value: unknown): void {
    const waiting = this.pending.get(jobId);
    if (!waiting) return;
    this.pending.delete(jobId);
    let report: unknown = value;
    if (typeof value === 'string') {
      try {
        report = JSON.parse(value);
      } catch {
        report = undefined;
      }
    }
    const outcome = report;
    if (isOutcomeReport(outcome) && givesKeyBack(outcome) && waiting[0]?.notification.dedupeKey) {
      // The worker removes such a job too, but the caller must find the key free once it is told.
      void withTimeout(this.queues.payments.remove(jobId), 1_000)
        .catch(() => undefined)
        .then(() => this.settleHeard(waiting, outcome));
      return;
    }
    this.settleHeard(waiting, report);
  }

  private settleHeard(waiting: readonly Pending[], report: unknown): void {
    for (const pending of waiting) {
      if (!isOutcomeReport(report)) {
        this.giveUp(pending, 'lost', 0);
        continue;
      }
      const { notification, endpoint, completion } = pending;
      const { deliveryTimeoutMs } = this.context.settings;
      const error = errorOfReport(report, notification, endpoint, deliveryTimeoutMs);
      this.context.learnt(
        this.settledOf(notification, report.outcome, report, error, pending.queuedAt),
      );
      if (error) completion?.reject(error);
      else completion?.resolve();
    }
  }

  private heardFailed(jobId: string, reason: string): void {
    const waiting = this.pending.get(jobId);
    if (!waiting) return;
    this.pending.delete(jobId);
    // Our processor returns every outcome; a job BullMQ fails itself stalled (a payment) or broke.
    for (const pending of waiting) {
      this.giveUp(pending, /stalled/i.test(reason) ? 'stalled' : 'lost', 1);
    }
  }

  private giveUp(pending: Pending, reason: 'stalled' | 'lost', attempts: number): void {
    const error = undeliveredError(pending.notification, pending.endpoint, reason, attempts);
    this.context.learnt({
      notification: pending.notification,
      outcome: 'failed',
      attempts,
      // Nobody knows: a payment's key stays claimed.
      mayHaveArrived: true,
      dropReason: undefined,
      error,
      durationMs: Date.now() - pending.queuedAt,
    });
    pending.completion?.reject(error);
  }

  /**
   * Every few seconds, asks Redis about the jobs whose outcome was not heard yet: queue events are
   * a stream this instance may have missed (it was reconnecting, or the stream was trimmed). A job
   * that finished settles as if heard; one gone from Redis past its budget and grace is `lost`.
   */
  private async sweep(): Promise<void> {
    this.makeQueues();
    void this.rewriteUncertain();
    void this.stopListeningIfIdle(Date.now());
    if (this.sweeping || this.pending.size === 0 || this.producer.status !== 'ready') return;
    this.sweeping = true;
    try {
      const now = Date.now();
      for (const [jobId, waiting] of [...this.pending]) {
        const oldest = waiting[0];
        if (!oldest || now - oldest.queuedAt < SWEEP_INTERVAL_MS) continue;
        const queue = oldest.notification.kind === 'payment' ? 'payments' : 'notifications';
        const job = await withTimeout(this.queues[queue].getJob(jobId), 1_000).catch(() => null);
        if (job?.finishedOn !== undefined && isOutcomeReport(job.returnvalue)) {
          // Completed with our report. BullMQ never clears `failedReason`: a job retried and then
          // completed still has the reason of its last retry.
          this.heard(jobId, job.returnvalue);
        } else if (job?.finishedOn !== undefined && job.failedReason) {
          this.heardFailed(jobId, job.failedReason);
        } else if (job?.finishedOn !== undefined) {
          this.heard(jobId, job.returnvalue);
        } else if (oldest.giveUpAt <= now) {
          // Gone from Redis, or still there past its budget and grace (no worker anywhere takes
          // it up): send…() is not left waiting for ever.
          this.pending.delete(jobId);
          for (const pending of waiting) this.giveUp(pending, 'lost', 0);
        }
      }
    } finally {
      this.sweeping = false;
    }
  }

  // --- worker ------------------------------------------------------------------------------

  /** A job BullMQ failed itself (stalled payment, broken job): its outcome for the observers. */
  private reportFailedJob(job: Job<EsalesBullmqJobData>, reason: 'stalled' | 'lost'): void {
    const notification = preparedOf(job.data);
    if (!notification) {
      this.warnings.warn(
        'bullmq:foreign-job',
        () => `Job ${job.id ?? ''} is not a nestjs-esales notification (version 1): failed`,
      );
      return;
    }
    const attempts = job.data.attemptsMade ?? 0;
    const createdAt = typeof job.data.createdAt === 'number' ? job.data.createdAt : undefined;
    this.context.settled({
      notification,
      outcome: 'failed',
      attempts,
      // Nobody knows: a payment's key stays claimed.
      mayHaveArrived: true,
      dropReason: undefined,
      error: undeliveredError(notification, job.data.endpoint, reason, attempts),
      durationMs: createdAt === undefined ? undefined : Date.now() - createdAt,
    });
  }

  private fullAttemptMs(): number {
    const { requestTimeoutMs, deliveryTimeoutMs } = this.context.settings;
    return Math.min(requestTimeoutMs, deliveryTimeoutMs / 2);
  }

  private async process(
    queue: Queue,
    job: Job<EsalesBullmqJobData>,
    token: string | undefined,
  ): Promise<OutcomeReport> {
    const notification = preparedOf(job.data);
    if (!notification) {
      // Never retried: BullMQ fails it, and the 'failed' listener warns of it.
      throw new UnrecoverableError(
        `job ${job.id ?? ''} is not a nestjs-esales notification (version 1)`,
      );
    }
    try {
      return await this.processOurs(queue, job, token, notification);
    } catch (error) {
      if (
        error instanceof RetryLater ||
        error instanceof RateLimitError ||
        error instanceof DelayedError
      ) {
        throw error;
      }
      // Redis failed under us (updateData, rateLimit, moveToDelayed) or a bug: a retry, never a
      // failure BullMQ decides on. The budget, checked first on every pickup, bounds the retries.
      throw new RetryLater(
        this.context.settings.retryBaseDelayMs,
        undeliveredError(notification, job.data.endpoint, 'lost', job.data.attemptsMade ?? 0),
      );
    }
  }

  /** Hands the job back to Redis, offered again soon; no attempt spent. */
  private async reoffer(job: Job<EsalesBullmqJobData>, token: string | undefined): Promise<never> {
    await job.moveToDelayed(Date.now() + REOFFER_DELAY_MS, token);
    throw new DelayedError();
  }

  private async processOurs(
    queue: Queue,
    job: Job<EsalesBullmqJobData>,
    token: string | undefined,
    notification: PreparedNotification,
  ): Promise<OutcomeReport> {
    const { settings } = this.context;
    const target: DeliveryTarget = { clusterUrl: job.data.clusterUrl, endpoint: job.data.endpoint };
    // HTTP attempts made before this pickup, in any instance (BullMQ's attemptsStarted also counts
    // pickups that were only re-offered or rate-limited).
    const before = job.data.attemptsMade ?? 0;
    const deadline = job.data.createdAt + settings.deliveryTimeoutMs;
    const budgetMs = deadline - Date.now();
    const earlier: Earlier = {
      failure: job.data.lastFailure,
      mayHaveArrived: job.data.mayHaveArrived === true,
      createdAt: job.data.createdAt,
    };
    const finish = (
      outcome: OutcomeReport['outcome'],
      made: number,
      failure?: AttemptFailure,
    ): OutcomeReport => this.finish(notification, target, outcome, made, failure, earlier);
    if (budgetMs < this.fullAttemptMs()) return finish('expired', before);
    // A job waiting in the lane (breaker open, limit low) is active in BullMQ: a crash would fail a
    // payment never sent, a shutdown would force it closed. It waits there a lock's length at most,
    // then goes back to Redis.
    const laneBudgetMs = Math.min(budgetMs, this.settings.lockDurationMs + this.fullAttemptMs());
    const result = await this.context.attemptOnce(notification, target, laneBudgetMs, before);
    if (!result.attempted) {
      const ownBudgetLeft = deadline - Date.now() >= this.fullAttemptMs() + REOFFER_DELAY_MS;
      if (result.expired && !ownBudgetLeft) return finish('expired', before);
      // The engine is full or shutting down, or the lane wait was capped: offered again soon.
      return this.reoffer(job, token);
    }
    const attempts = before + 1;
    const failure = result.failure;
    if (!failure) return finish('sent', attempts);
    if (!failure.retryable) {
      const status = failure.error.status;
      const refused = !failure.withheld && status !== undefined && status >= 400 && status < 500;
      return finish(refused ? 'rejected' : 'failed', attempts, failure);
    }
    if (attempts >= settings.maxAttempts) return finish('failed', attempts, failure);
    const asked = failure.retryAfterMs;
    const retryAfter = asked === undefined ? 0 : Math.min(asked, settings.retryMaxDelayMs);
    const delay = Math.max(this.backoffAfter(attempts), retryAfter);
    if (Date.now() + delay > deadline - this.fullAttemptMs()) {
      return finish('expired', attempts, failure);
    }
    // Kept with the job for the attempt after this one, in whichever instance runs it.
    try {
      await job.updateData({
        ...job.data,
        attemptsMade: attempts,
        lastFailure: failureReportOf(failure, settings.requestTimeoutMs),
        mayHaveArrived: earlier.mayHaveArrived || !failure.notReceived,
      });
    } catch {
      // Not kept: retried all the same (the count may come out one short).
      throw new RetryLater(delay, failure.error);
    }
    const status = failure.error.status;
    if (asked !== undefined && (status === 429 || status === 503)) {
      // The cluster asked everyone to wait: every worker of this queue holds back.
      const hold = Math.min(asked, Math.max(settings.retryMaxDelayMs, settings.breakerCooldownMs));
      try {
        await queue.rateLimit(hold);
      } catch {
        throw new RetryLater(delay, failure.error);
      }
      throw new RateLimitError();
    }
    throw new RetryLater(delay, failure.error);
  }

  /**
   * The engine's backoff curve (decorrelated jitter) as the engine walks it: after attempt `n` it
   * waits the delay of step `n + 1` (`(backoff ?? curve.next()).next()` in `afterAttempt`).
   */
  private backoffAfter(attempts: number): number {
    let step: IBackoff<unknown> = this.backoff.next();
    for (let i = 0; i < attempts; i++) step = step.next(undefined);
    return step.duration;
  }

  /** Reports the outcome to this instance's observers and returns it as the job's return value. */
  private finish(
    notification: PreparedNotification,
    target: DeliveryTarget,
    outcome: OutcomeReport['outcome'],
    attempts: number,
    failure: AttemptFailure | undefined,
    earlier: Earlier,
  ): OutcomeReport {
    const { settings } = this.context;
    this.counts.processed++;
    const mayHaveArrived =
      outcome === 'sent' ||
      (failure !== undefined && !failure.notReceived) ||
      earlier.mayHaveArrived;
    const last = failure ? failureReportOf(failure, settings.requestTimeoutMs) : earlier.failure;
    const report: OutcomeReport = {
      outcome,
      attempts: Math.max(0, attempts),
      mayHaveArrived,
      ...(last ? { failure: last } : {}),
    };
    // What send…() on this instance would have been rejected with: the last failure, or for an
    // expired notification an EsalesUndeliveredError with that failure as its cause.
    const error =
      outcome === 'rejected' || outcome === 'failed'
        ? failure?.error
        : errorOfReport(report, notification, target.endpoint, settings.deliveryTimeoutMs);
    this.context.settled(this.settledOf(notification, outcome, report, error, earlier.createdAt));
    return report;
  }

  private settledOf(
    notification: PreparedNotification,
    outcome: DeliveryOutcome,
    report: OutcomeReport,
    error: EsalesDeliveryError | undefined,
    createdAt: number | undefined,
  ): SettledNotification {
    return {
      notification,
      outcome,
      attempts: report.attempts,
      mayHaveArrived: report.mayHaveArrived,
      dropReason: undefined,
      error,
      durationMs: createdAt === undefined ? undefined : Date.now() - createdAt,
    };
  }

  // --- state -------------------------------------------------------------------------------

  stats(): EsalesDeliveryBackendStats {
    return {
      name: this.name,
      redis: this.producer?.status === 'ready' ? 'up' : 'down',
      queue: this.settings.queueName,
      worker: this.settings.worker,
      buffered: this.buffer.length,
      writing: this.writing,
      uncertain: this.uncertainCount,
      awaitingOutcome: this.pending.size,
      ...this.counts,
    };
  }

  async health(): Promise<EsalesDeliveryBackendHealth> {
    const up = this.producer?.status === 'ready';
    if (!up) return { up, details: { redis: 'down' } };
    try {
      const [notifications, payments] = await withTimeout(
        Promise.all([
          this.queues.notifications.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
          this.queues.payments.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
        ]),
        1_000,
      );
      const depth = (counts: Record<string, number>): number =>
        (counts['waiting'] ?? 0) + (counts['delayed'] ?? 0) + (counts['prioritized'] ?? 0);
      return {
        up: true,
        details: {
          redis: 'up',
          waiting: depth(notifications) + depth(payments),
          active: (notifications['active'] ?? 0) + (payments['active'] ?? 0),
        },
      };
    } catch (error) {
      return { up: false, details: { redis: 'down', message: describeError(error) } };
    }
  }

  /** Writes what is buffered, then stops the workers (waiting for their jobs) within `deadlineMs`. */
  async close(deadlineMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const end = Date.now() + deadlineMs;
    // No new jobs from now on (the engine already handed back those only waiting in its lanes).
    for (const worker of this.workers) void worker.pause(true).catch(() => undefined);
    await this.flush(Math.max(0, deadlineMs / 2));
    clearInterval(this.sweepTimer);
    const left = (): number => Math.max(0, end - Date.now());
    await Promise.all(
      this.workers.map(async (worker) => {
        // Jobs still active then become stalled and are taken up elsewhere (payments: failed).
        // While Redis is away a close never settles (a forced one neither): bounded both times.
        const wait = this.producer.status === 'ready' ? left() : Math.min(left(), 1_000);
        if (!(await settlesWithin(worker.close(), wait))) {
          await settlesWithin(worker.close(true), FORCED_CLOSE_MS);
        }
      }),
    );
    await Promise.all(
      [
        ...(this.events ?? []),
        ...Object.values(this.queues),
        ...Object.values(this.producerQueues ?? {}),
      ].map((closable) => settlesWithin(closable.close(), 1_000)),
    );
    for (const waiting of this.pending.values()) {
      // This instance will not hear of them; the notifications themselves are safe in Redis.
      for (const pending of waiting) {
        pending.completion?.reject(
          undeliveredError(pending.notification, pending.endpoint, 'lost', 0),
        );
      }
    }
    this.pending.clear();
    for (const redis of this.owned) redis.disconnect();
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
