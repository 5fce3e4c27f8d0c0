import type { Logger } from '@nestjs/common';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleAll,
  type CircuitBreakerPolicy,
  type IBackoff,
} from 'cockatiel';
import { describeError, isThenable } from '../common/app-code.js';
import type { EsalesDeliveryError, EsalesDeliveryErrorContext } from '../errors/esales.error.js';
import {
  EsalesUndeliveredError,
  type EsalesUndeliveredReason,
} from '../errors/esales-undelivered.error.js';
import type { PreparedNotification } from '../notifications/non-esales-click.notification.js';
import type { EsalesTransport } from '../transport/esales-transport.interface.js';
import {
  NON_ESALES_CLICK,
  failureOfAnswer,
  failureOfTransport,
  maskCustomerKey,
  type AttemptFailure,
} from './delivery-errors.js';
import { Deque } from './deque.js';
import type {
  EsalesBreakerState,
  EsalesDeliveryEvent,
  EsalesDropReason,
  EsalesSkipReason,
  EsalesStats,
} from './esales-stats.interface.js';
import { RateLimitedLog } from './rate-limited-log.js';

/** @internal The engine's settings, validated and defaulted by `resolveEsalesOptions`. */
export interface DeliverySettings {
  readonly maxQueueSize: number;
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly deliveryTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly breakerThreshold: number;
  readonly breakerCooldownMs: number;
  readonly warnIntervalMs: number;
}

/** Optional callbacks on a notification's fate. They run inside try/catch and must not block. */
export interface EsalesDeliveryHooks {
  /** Elevate accepted the notification. */
  onDelivered?: (event: EsalesDeliveryEvent) => unknown;
  /**
   * The notification got a final answer other than success, or ran out of time: `error` is an
   * `EsalesBadRequestError` / `EsalesCustomerKeyRejectedError` (rejected), `EsalesServerError`,
   * `EsalesTimeoutError`, `EsalesNetworkError` (failed after its attempts), or an
   * `EsalesUndeliveredError` with reason `expired`.
   */
  onFailed?: (event: EsalesDeliveryEvent, error: EsalesDeliveryError) => unknown;
  /** The notification was never sent: the queue was full, or the app shut down first. */
  onDropped?: (event: EsalesDeliveryEvent, reason: EsalesDropReason) => unknown;
}

/** Settles the promise of `sendNonEsalesClick`. */
interface Completion {
  resolve(): void;
  reject(error: EsalesDeliveryError): void;
}

interface Job {
  readonly notification: PreparedNotification;
  readonly context: EsalesDeliveryErrorContext;
  /** `performance.now()` after which the job expires. */
  readonly deadline: number;
  readonly completion: Completion | undefined;
  attempts: number;
  settled: boolean;
  lastError: EsalesDeliveryError | undefined;
}

type Outcome = 'sent' | 'rejected' | 'failed' | 'expired' | 'dropped';

/** Thrown inside the breaker so that only failures worth retrying count against it. */
class RetryableFailure extends Error {
  constructor(readonly failure: AttemptFailure) {
    super(failure.error.message);
  }
}

const now = (): number => performance.now();

const BREAKER_STATES: Record<CircuitState, EsalesBreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

/**
 * @internal The delivery engine behind `EsalesNotificationService`: a bounded FIFO queue drained by at
 * most `concurrency` deliveries, each retried with jittered exponential backoff inside its
 * `deliveryTimeoutMs` budget, behind one circuit breaker shared by the whole queue.
 *
 * The breaker and the backoff curve are cockatiel's (`ConsecutiveBreaker`, `ExponentialBackoff` with
 * decorrelated jitter). The retry loop is ours, because it needs three things cockatiel's `retry`
 * policy does not do: a budget that started at enqueue time, `Retry-After`, and waiting on an open
 * breaker without spending an attempt.
 */
export class DeliveryEngine {
  private readonly queue = new Deque<Job>();
  private readonly inFlight = new Set<Job>();
  private readonly breaker: CircuitBreakerPolicy;
  private readonly backoff: ExponentialBackoff<unknown>;
  private readonly warnings: RateLimitedLog;
  /** Deliveries sleeping before a retry, and those waiting for the breaker; woken early by `wake`. */
  private readonly sleepers = new Set<() => void>();
  private readonly breakerWaiters = new Set<() => void>();
  private readonly idleWaiters = new Set<() => void>();
  private breakerOpenedAt = 0;
  private pumpScheduled = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private shutdownPromise: Promise<void> | undefined;
  private closed = false;
  private readonly counts = {
    enqueued: 0,
    sent: 0,
    retried: 0,
    rejected: 0,
    dropped: 0,
    abandoned: 0,
    expired: 0,
    failed: 0,
  };
  private readonly skips: Record<EsalesSkipReason, number> = {
    invalid: 0,
    unknownMarket: 0,
    disabled: 0,
    bot: 0,
    customerKeyNotVerified: 0,
    headRequest: 0,
  };

  /**
   * The least budget an attempt starts with: `requestTimeoutMs`, or half the budget when that is
   * shorter. With less left, a notification counts as expired instead. An attempt its own deadline
   * would cut short could only time out on the notification's account, yet count against Elevate in
   * the breaker; and after an outage, sending the oldest notifications just before they expire
   * would hold up the fresh ones without end.
   */
  private readonly fullAttemptMs: number;

  constructor(
    private readonly settings: DeliverySettings,
    private readonly transport: EsalesTransport,
    private readonly logger: Logger,
    private readonly hooks: EsalesDeliveryHooks = {},
  ) {
    this.warnings = new RateLimitedLog(logger, settings.warnIntervalMs);
    this.fullAttemptMs = Math.min(settings.requestTimeoutMs, settings.deliveryTimeoutMs / 2);
    this.backoff = new ExponentialBackoff({
      initialDelay: settings.retryBaseDelayMs,
      maxDelay: settings.retryMaxDelayMs,
    });
    this.breaker = circuitBreaker(handleAll, {
      halfOpenAfter: settings.breakerCooldownMs,
      breaker: new ConsecutiveBreaker(settings.breakerThreshold),
    });
    this.breaker.onBreak(() => {
      this.breakerOpenedAt = now();
      this.warnings.warn(
        'breaker-open',
        () =>
          `Circuit breaker open after ${settings.breakerThreshold} consecutive failed attempts: ` +
          `queued notifications wait; one probe every ${settings.breakerCooldownMs} ms`,
      );
      this.scheduleWake();
    });
    this.breaker.onReset(() => {
      this.logger.log('Circuit breaker closed: Elevate answered the probe, delivery resumes');
      for (const wake of [...this.breakerWaiters]) wake();
      this.schedulePump();
    });
  }

  /**
   * Queues a validated notification. O(1); never does I/O itself (the queue is drained on a later
   * turn of the event loop). Returns false when it was dropped (queue full, or shut down).
   */
  enqueue(notification: PreparedNotification, endpoint: string, completion?: Completion): boolean {
    this.counts.enqueued++;
    const job: Job = {
      notification,
      context: { market: notification.market, endpoint, notificationId: notification.id },
      deadline: now() + this.settings.deliveryTimeoutMs,
      completion,
      attempts: 0,
      settled: false,
      lastError: undefined,
    };
    if (this.closed) {
      this.counts.abandoned++;
      this.finish(job, 'dropped', 'shutdown');
      return false;
    }
    // A full queue first lets go of what can no longer be attempted (typically during an outage),
    // so a fresh click is not dropped for the sake of one that will expire anyway.
    if (this.queue.length >= this.settings.maxQueueSize) this.expireQueued(this.fullAttemptMs);
    if (this.queue.length >= this.settings.maxQueueSize) {
      this.finish(job, 'dropped', 'queue-full');
      return false;
    }
    this.queue.push(job);
    this.schedulePump();
    return true;
  }

  /** Counts a notification that was not enqueued. */
  skip(reason: EsalesSkipReason): void {
    this.skips[reason]++;
  }

  stats(): EsalesStats {
    let skipped = 0;
    for (const count of Object.values(this.skips)) skipped += count;
    return {
      ...this.counts,
      skipped,
      skippedBy: { ...this.skips },
      queued: this.queue.length,
      inFlight: this.inFlight.size,
      maxQueueSize: this.settings.maxQueueSize,
      breaker: BREAKER_STATES[this.breaker.state],
    };
  }

  /**
   * Waits until nothing is queued or in flight, or `timeoutMs` passed. Resolves true when idle.
   * Safe to call any number of times, concurrently or not.
   */
  flush(timeoutMs: number = this.settings.shutdownTimeoutMs): Promise<boolean> {
    if (this.isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      // Deliberately not unref()'d: someone awaits this, and it is bounded by timeoutMs.
      const timer = setTimeout(() => {
        this.idleWaiters.delete(idle);
        resolve(this.isIdle());
      }, timeoutMs);
      const idle = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.add(idle);
    });
  }

  /**
   * Drains for up to `shutdownTimeoutMs`, abandons what is left (counted as dropped and abandoned,
   * logged once), then closes the transport. Later notifications are dropped. Idempotent.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.drainAndClose();
    return this.shutdownPromise;
  }

  private async drainAndClose(): Promise<void> {
    const drained = await this.flush(this.settings.shutdownTimeoutMs);
    this.closed = true;
    if (!drained) this.abandonAll();
    this.warnings.flush();
    clearTimeout(this.wakeTimer);
    try {
      await this.transport.close?.();
    } catch (error) {
      this.logger.warn(`Could not close the transport: ${describeError(error)}`);
    }
  }

  private abandonAll(): void {
    const queued = this.queue.drain();
    const inFlight = [...this.inFlight];
    for (const job of [...queued, ...inFlight]) {
      if (job.settled) continue;
      this.counts.abandoned++;
      this.finish(job, 'dropped', 'shutdown');
    }
    // Settled now: no longer in flight, though their requests unwind only once the transport closes.
    this.inFlight.clear();
    for (const wake of [...this.sleepers, ...this.breakerWaiters]) wake();
    this.logger.warn(
      `Shutdown: ${queued.length + inFlight.length} notification(s) not delivered within ` +
        `shutdownTimeoutMs (${this.settings.shutdownTimeoutMs} ms) were abandoned ` +
        `(${queued.length} queued, ${inFlight.length} in flight)`,
    );
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.inFlight.size === 0;
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // A later turn: the request that enqueued finishes its own work before any delivery starts.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    }).unref();
  }

  /** Starts deliveries while there is room and the breaker lets them through. */
  private pump(): void {
    this.expireQueued(this.fullAttemptMs);
    while (this.queue.length > 0 && this.inFlight.size < this.settings.concurrency) {
      if (!this.mayStart()) {
        this.scheduleWake();
        return;
      }
      const job = this.queue.shift() as Job;
      void this.run(job);
    }
    this.notifyIfIdle();
  }

  /** Closed: yes. Open: only one probe once the cooldown is over, if nobody in flight will probe. */
  private mayStart(): boolean {
    const state = this.breaker.state;
    if (state === CircuitState.Closed) return true;
    if (state !== CircuitState.Open || this.inFlight.size > 0) return false;
    return now() >= this.breakerOpenedAt + this.settings.breakerCooldownMs;
  }

  /**
   * Counts queued notifications whose budget ran out (or has less than `marginMs` left). All share
   * one budget, so they expire in order.
   */
  private expireQueued(marginMs = 0): void {
    const at = now() + marginMs;
    for (let head = this.queue.peek(); head && head.deadline <= at; head = this.queue.peek()) {
      this.queue.shift();
      this.finish(head, 'expired');
    }
  }

  /** While the queue is stalled, pump again when the breaker may probe or the oldest job expires. */
  private scheduleWake(): void {
    const head = this.queue.peek();
    if (!head) return;
    clearTimeout(this.wakeTimer);
    const probeAt = this.breakerOpenedAt + this.settings.breakerCooldownMs;
    // When the oldest one stops being worth an attempt.
    const expiresAt = head.deadline - this.fullAttemptMs;
    const at = this.breaker.state === CircuitState.Open ? Math.min(probeAt, expiresAt) : expiresAt;
    this.wakeTimer = setTimeout(() => this.pump(), Math.max(1, at - now()));
    this.wakeTimer.unref();
  }

  private async run(job: Job): Promise<void> {
    this.inFlight.add(job);
    try {
      await this.deliver(job);
    } catch (error) {
      // Unreachable unless there is a bug: deliver() settles every job itself.
      this.logger.error(`Unexpected delivery error: ${describeError(error)}`);
      this.finish(job, 'failed');
    } finally {
      this.inFlight.delete(job);
      if (this.queue.length > 0) this.pump();
      this.notifyIfIdle();
    }
  }

  private async deliver(job: Job): Promise<void> {
    let backoff: IBackoff<unknown> | undefined;
    for (;;) {
      if (job.settled) return;
      const remaining = job.deadline - now();
      if (remaining < this.fullAttemptMs) return this.finish(job, 'expired');
      const timeoutMs = Math.max(
        1,
        Math.floor(Math.min(this.settings.requestTimeoutMs, remaining)),
      );
      let verdict: AttemptFailure | undefined;
      try {
        verdict = await this.breaker.execute(() => this.attempt(job, timeoutMs));
      } catch (error) {
        if (job.settled) return;
        if (error instanceof BrokenCircuitError) {
          await this.waitForBreaker(job);
          continue;
        }

        if (!(error instanceof RetryableFailure)) throw error;
        const { failure } = error;
        job.lastError = failure.error;
        if (job.attempts >= this.settings.maxAttempts) {
          return this.finish(job, 'failed', undefined, failure.error);
        }
        backoff = (backoff ?? this.backoff.next()).next(undefined);
        let delay = backoff.duration;
        if (failure.retryAfterMs !== undefined) {
          delay = Math.max(delay, Math.min(failure.retryAfterMs, this.settings.retryMaxDelayMs));
        }
        if (now() + delay > job.deadline - this.fullAttemptMs) return this.finish(job, 'expired');
        await this.sleep(delay, this.sleepers);
        continue;
      }
      if (job.settled) return;
      if (!verdict) return this.finish(job, 'sent');
      const status = verdict.error.status;
      const outcome = status !== undefined && status >= 400 && status < 500 ? 'rejected' : 'failed';
      return this.finish(job, outcome, undefined, verdict.error);
    }
  }

  /**
   * One HTTP attempt. Resolves with nothing on success, or with a failure retrying cannot change
   * (those do not count against the breaker: Elevate is up); throws `RetryableFailure` otherwise.
   */
  private async attempt(job: Job, timeoutMs: number): Promise<AttemptFailure | undefined> {
    job.attempts++;
    if (job.attempts > 1) this.counts.retried++;
    let failure: AttemptFailure;
    try {
      const response = await this.transport.send({
        url: job.context.endpoint,
        body: job.notification.body,
        timeoutMs,
      });
      if (response.status >= 200 && response.status < 300) return undefined;
      failure = failureOfAnswer(response, job.notification, job.context);
    } catch (error) {
      failure = failureOfTransport(error, timeoutMs, job.context);
    }
    if (failure.retryable) throw new RetryableFailure(failure);
    return failure;
  }

  private waitForBreaker(job: Job): Promise<void> {
    const probeIn = this.breakerOpenedAt + this.settings.breakerCooldownMs - now();
    // At least 10 ms: cockatiel times the cooldown on the wall clock, so a clock step could otherwise
    // turn this into a busy loop of refused calls.
    const expiresIn = job.deadline - this.fullAttemptMs - now();
    return this.sleep(Math.max(10, Math.min(probeIn, expiresIn)), this.breakerWaiters);
  }

  private sleep(ms: number, waiters: Set<() => void>): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      waiters.add(wake);
    });
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.size === 0 || !this.isIdle()) return;
    for (const idle of [...this.idleWaiters]) idle();
    this.idleWaiters.clear();
  }

  /** Records a job's one final outcome: counters, completion, hooks and (rate-limited) logs. */
  private finish(
    job: Job,
    outcome: Outcome,
    dropReason?: EsalesDropReason,
    error?: EsalesDeliveryError,
  ): void {
    if (job.settled) return;
    job.settled = true;
    this.counts[outcome]++;
    const { notification } = job;
    const event: EsalesDeliveryEvent = {
      id: notification.id,
      market: notification.market,
      productKey: notification.productKey,
      variantKey: notification.variantKey,
      attempts: job.attempts,
    };
    if (outcome === 'sent') {
      job.completion?.resolve();
      this.callHook('onDelivered', () => this.hooks.onDelivered?.(event));
      return;
    }
    if (outcome === 'dropped') {
      const reason = dropReason ?? 'queue-full';
      job.completion?.reject(this.undelivered(job, reason));
      if (reason === 'queue-full') {
        this.warnings.warn(
          'queue-full',
          () =>
            `Delivery queue is full (maxQueueSize ${this.settings.maxQueueSize}): ` +
            `${this.counts.dropped - this.counts.abandoned} notification(s) dropped so far`,
        );
      }
      this.callHook('onDropped', () => this.hooks.onDropped?.(event, reason));
      return;
    }
    const final = error ?? this.undelivered(job, 'expired');
    job.completion?.reject(final);
    const kind = `${outcome}:${final.status ?? (final as { code?: string }).code ?? final.name}`;
    this.warnings.warn(
      kind,
      () =>
        `${outcome === 'rejected' ? 'Rejected' : outcome === 'expired' ? 'Expired' : 'Failed'}: ` +
        `${final.message} (customer ${maskCustomerKey(notification.customerKey)}, ` +
        `${job.attempts} attempt${job.attempts === 1 ? '' : 's'})`,
    );
    this.callHook('onFailed', () => this.hooks.onFailed?.(event, final));
  }

  private undelivered(job: Job, reason: EsalesUndeliveredReason): EsalesUndeliveredError {
    return new EsalesUndeliveredError(NON_ESALES_CLICK, reason, job.attempts, job.context, {
      ...(reason === 'expired' ? { budgetMs: this.settings.deliveryTimeoutMs } : {}),
      ...(job.lastError ? { cause: job.lastError } : {}),
    });
  }

  /** Runs an app callback so that neither a throw nor a rejected promise can escape. */
  private callHook(name: string, call: () => unknown): void {
    const report = (error: unknown): void =>
      this.warnings.warn(`hook:${name}`, () => `${name} hook threw: ${describeError(error)}`);
    try {
      const result = call();
      if (isThenable(result)) result.then(undefined, report);
    } catch (error) {
      report(error);
    }
  }
}
