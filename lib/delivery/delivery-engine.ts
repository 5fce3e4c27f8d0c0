import type { Logger } from '@nestjs/common';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { describeError } from '../common/app-code.js';
import type { EsalesDeliveryError } from '../errors/esales.error.js';
import {
  EsalesUndeliveredError,
  type EsalesUndeliveredReason,
} from '../errors/esales-undelivered.error.js';
import type {
  EsalesNotificationKindName,
  PreparedNotification,
} from '../notifications/notification-kind.js';
import type { EsalesTransport } from '../transport/esales-transport.interface.js';
import { attemptDelivery, errorContextOf, type AttemptFailure } from './attempt.js';
import { BrokenCircuitError, CircuitGate } from './circuit-gate.js';
import { systemClock, type Clock } from './clock.js';
import {
  AdaptiveConcurrencyLimit,
  FixedConcurrencyLimit,
  type ConcurrencyLimit,
} from './concurrency-limit.js';
import type {
  DeliveryObserver,
  DeliveryOutcome,
  SettledNotification,
} from './delivery-observer.js';
import type { DeliverySettings } from './delivery-settings.interface.js';
import { Deque } from './deque.js';
import type { EsalesDropReason } from './esales-delivery-hooks.interface.js';
import type {
  EsalesBreakerState,
  EsalesClusterStats,
  EsalesSkipReason,
} from './esales-stats.interface.js';

/** Settles the promise of `send…()`. */
export interface Completion {
  resolve(): void;
  reject(error: EsalesDeliveryError): void;
}

/** @internal Where a notification goes: its cluster (the unit of limits and breakers) and URL. */
export interface DeliveryTarget {
  /** Cluster base URL; markets that share it share a concurrency limit and a breaker. */
  readonly clusterUrl: string;
  /** The endpoint's full URL, without the notification's query string. */
  readonly endpoint: string;
}

/** The engine's state, for `getStats()`; the counters come from the stats observer. */
export interface EngineState {
  readonly queued: number;
  readonly retrying: number;
  readonly inFlight: number;
  readonly clusters: Record<string, EsalesClusterStats>;
}

/** What one attempt for a backend that retries on its own (`attemptOnce`) came to. */
export type SingleAttempt =
  /** It was attempted: `failure` is undefined on a 2xx. */
  | { readonly attempted: true; readonly failure: AttemptFailure | undefined }
  /** Its budget ran out before a full attempt could start (waiting for the limit or the breaker). */
  | { readonly attempted: false; readonly expired: true }
  /** Not attempted: the engine is full or shut down. */
  | { readonly attempted: false; readonly expired: false; readonly dropReason: EsalesDropReason };

interface Job {
  readonly notification: PreparedNotification;
  readonly endpoint: string;
  readonly lane: Lane;
  /** On the engine's clock: after this the job expires. */
  readonly deadline: number;
  readonly completion: Completion | undefined;
  attempts: number;
  /** Some attempt may have reached Elevate (it answered, or the request may have been written). */
  mayHaveArrived: boolean;
  settled: boolean;
  lastError: EsalesDeliveryError | undefined;
  backoff: IBackoff<unknown> | undefined;
  /** The timer of a job sleeping before its next attempt. */
  timer: unknown;
  /** Set for `attemptOnce`: one attempt, reported here instead of to the completion and observers. */
  readonly single: ((result: SingleAttempt) => void) | undefined;
}

/** One cluster: its queue, its retries, its limit and its gate. */
interface Lane {
  readonly clusterUrl: string;
  /** Waiting for their first attempt; all share one budget, so oldest first is soonest to expire. */
  readonly queue: Deque<Job>;
  /** Due for another attempt; they go before first attempts. */
  readonly ready: Deque<Job>;
  /** Sleeping out a backoff or `Retry-After`; they hold no slot. */
  readonly sleeping: Set<Job>;
  readonly inFlight: Set<Job>;
  readonly limit: ConcurrencyLimit;
  readonly gate: CircuitGate;
  wakeTimer: unknown;
  wakeAt: number;
}

/** Thrown inside the breaker so that failures worth retrying (and those a payment may not retry) count against it; answers that show the cluster is up do not. */
class FailedAttempt extends Error {
  constructor(readonly failure: AttemptFailure) {
    super(failure.error.message);
  }
}

/** A stalled cluster is looked at again no sooner than this (cockatiel times its cooldown itself). */
const MIN_WAKE_MS = 10;

const BREAKER_RANK: Record<EsalesBreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * @internal The in-memory delivery engine behind `EsalesNotificationService`: admission into one
 * bounded queue, then per cluster a concurrency limit (fixed, or adaptive), a circuit breaker and a
 * `Retry-After` hold; each notification retried with jittered exponential backoff until accepted or
 * its `deliveryTimeoutMs` budget is spent. A notification sleeping before a retry holds no slot.
 *
 * The breaker and the backoff curve are cockatiel's. The retry loop is ours, because it needs what
 * cockatiel's `retry` policy does not do: a budget that started at enqueue time, `Retry-After`,
 * waiting on an open breaker without spending an attempt, and giving the slot back while sleeping.
 *
 * Outcomes go to observers (stats, hooks, warnings), never to code in here.
 */
export class DeliveryEngine {
  private readonly lanes = new Map<string, Lane>();
  private readonly backoff: ExponentialBackoff<unknown>;
  private readonly idleWaiters = new Set<() => void>();
  /** Queued and retrying, all lanes: what `maxQueueSize` bounds. */
  private waiting = 0;
  private inFlight = 0;
  private pumpScheduled = false;
  private shutdownPromise: Promise<void> | undefined;
  private closed = false;
  /** Set by `releaseWaitingSingles`: `attemptOnce` takes no more jobs. */
  private singlesReleased = false;

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
    private readonly observers: readonly DeliveryObserver[],
    private readonly clock: Clock = systemClock,
    clusterUrls: readonly string[] = [],
  ) {
    this.fullAttemptMs = Math.min(settings.requestTimeoutMs, settings.deliveryTimeoutMs / 2);
    this.backoff = new ExponentialBackoff({
      initialDelay: settings.retryBaseDelayMs,
      maxDelay: settings.retryMaxDelayMs,
    });
    for (const url of clusterUrls) this.laneFor(url);
  }

  /**
   * Queues a validated notification. O(1); never does I/O itself (the queue is drained on a later
   * turn of the event loop). Returns false when it was dropped (queue full, or shut down).
   */
  enqueue(
    notification: PreparedNotification,
    target: DeliveryTarget,
    completion?: Completion,
    /** The observers already heard of it (a delivery backend took it first, then gave it here). */
    counted = false,
  ): boolean {
    const lane = this.laneFor(target.clusterUrl);
    const job: Job = {
      notification,
      endpoint: target.endpoint,
      lane,
      deadline: this.clock.now() + this.settings.deliveryTimeoutMs,
      completion,
      attempts: 0,
      mayHaveArrived: false,
      settled: false,
      lastError: undefined,
      backoff: undefined,
      timer: undefined,
      single: undefined,
    };
    if (!counted) for (const observer of this.observers) observer.enqueued?.(notification);
    if (this.closed) {
      this.finish(job, 'dropped', 'shutdown');
      return false;
    }
    // A full queue first lets go of what can no longer be attempted (typically during an outage),
    // so a fresh click is not dropped for the sake of one that will expire anyway.
    if (this.waiting >= this.settings.maxQueueSize) {
      for (const other of this.lanes.values()) this.expireQueued(other, this.fullAttemptMs);
    }
    if (this.waiting >= this.settings.maxQueueSize) {
      this.finish(job, 'dropped', 'queue-full');
      return false;
    }
    lane.queue.push(job);
    this.waiting++;
    this.schedulePump();
    return true;
  }

  /**
   * One attempt at `notification` for a backend that keeps and retries notifications itself (the
   * BullMQ worker): it waits in its cluster's lane for the concurrency limit, the breaker and any
   * `Retry-After` hold like every notification, for at most `budgetMs`, and the result comes back
   * here. Observers hear of the attempt (`attempted`), not of an outcome: the caller decides that.
   * Never rejects.
   */
  attemptOnce(
    notification: PreparedNotification,
    target: DeliveryTarget,
    budgetMs: number,
    /** Attempts made before this one (elsewhere, perhaps): observers hear the right number. */
    attemptsBefore = 0,
  ): Promise<SingleAttempt> {
    return new Promise((single) => {
      const lane = this.laneFor(target.clusterUrl);
      const job: Job = {
        notification,
        endpoint: target.endpoint,
        lane,
        deadline: this.clock.now() + budgetMs,
        completion: undefined,
        attempts: attemptsBefore,
        mayHaveArrived: false,
        settled: false,
        lastError: undefined,
        backoff: undefined,
        timer: undefined,
        single,
      };
      if (this.closed || this.singlesReleased) return this.finish(job, 'dropped', 'shutdown');
      if (this.waiting >= this.settings.maxQueueSize) {
        return this.finish(job, 'dropped', 'queue-full');
      }
      lane.queue.push(job);
      this.waiting++;
      this.schedulePump();
    });
  }

  /**
   * At shutdown, before a backend's workers stop: every `attemptOnce` job still waiting in a lane
   * (not yet started) comes back at once as not attempted (`dropReason: 'shutdown'`), so the backend
   * hands it back to its queue instead of holding it; later `attemptOnce` calls come back so too.
   * Attempts in flight finish as usual. Returns how many were released.
   */
  releaseWaitingSingles(): number {
    this.singlesReleased = true;
    let released = 0;
    for (const lane of this.lanes.values()) {
      for (const list of [lane.queue, lane.ready]) {
        const kept: Job[] = [];
        for (const job of list.drain()) {
          if (!job.single) {
            kept.push(job);
            continue;
          }
          this.waiting--;
          released++;
          this.finish(job, 'dropped', 'shutdown');
        }
        for (const job of kept) list.push(job);
      }
    }
    this.notifyIfIdle();
    return released;
  }

  /** Counts a notification of `kind` that was not enqueued. */
  skip(reason: EsalesSkipReason, kind: EsalesNotificationKindName): void {
    for (const observer of this.observers) observer.skipped?.(reason, kind);
  }

  /** What is queued, retrying and in flight now, overall and per cluster. */
  state(): EngineState {
    const clusters: Record<string, EsalesClusterStats> = {};
    let queued = 0;
    for (const lane of this.lanes.values()) {
      queued += lane.queue.length;
      const holdEnd = lane.gate.holdEnd;
      const baseline = lane.limit.baselineMs;
      clusters[lane.clusterUrl] = {
        queued: lane.queue.length,
        retrying: lane.ready.length + lane.sleeping.size,
        inFlight: lane.inFlight.size,
        concurrencyLimit: lane.limit.limit,
        latencyBaselineMs: baseline === undefined ? null : Math.round(baseline * 10) / 10,
        breaker: lane.gate.state,
        heldUntil: holdEnd ? Math.round(Date.now() + holdEnd - this.clock.now()) : null,
      };
    }
    return { queued, retrying: this.waiting - queued, inFlight: this.inFlight, clusters };
  }

  /**
   * Waits until nothing is queued, retrying or in flight, or `timeoutMs` passed. Resolves true when
   * idle. Safe to call any number of times, concurrently or not.
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
  shutdown(
    /** How long the drain may take; `shutdownTimeoutMs` unless a backend's close took part of it. */
    timeoutMs: number = this.settings.shutdownTimeoutMs,
  ): Promise<void> {
    this.shutdownPromise ??= this.drainAndClose(Math.max(0, timeoutMs));
    return this.shutdownPromise;
  }

  private async drainAndClose(timeoutMs: number): Promise<void> {
    await this.flush(timeoutMs);
    this.closed = true;
    // Not the flush's verdict: something may have been enqueued since it resolved.
    if (!this.isIdle()) this.abandonAll();
    for (const lane of this.lanes.values()) this.clock.clearTimer(lane.wakeTimer);
    try {
      await this.transport.close?.();
    } catch (error) {
      this.logger.warn(`Could not close the transport: ${describeError(error)}`);
    }
  }

  private abandonAll(): void {
    let waiting = 0;
    let inFlight = 0;
    for (const lane of this.lanes.values()) {
      const jobs = [...lane.queue.drain(), ...lane.ready.drain(), ...lane.sleeping];
      for (const job of lane.sleeping) this.clock.clearTimer(job.timer);
      lane.sleeping.clear();
      waiting += jobs.length;
      const active = [...lane.inFlight];
      inFlight += active.length;
      // Settled now: no longer in flight, though their requests unwind only once the transport closes.
      lane.inFlight.clear();
      for (const job of [...jobs, ...active]) this.finish(job, 'dropped', 'shutdown');
    }
    this.waiting = 0;
    this.inFlight = 0;
    for (const observer of this.observers) observer.abandoned?.(waiting, inFlight);
    // Anyone still awaiting flush() learns at once that nothing is left.
    this.notifyIfIdle();
  }

  private laneFor(clusterUrl: string): Lane {
    let lane = this.lanes.get(clusterUrl);
    if (lane) return lane;
    const { concurrency, breakerThreshold, breakerCooldownMs } = this.settings;
    const limit =
      concurrency.mode === 'fixed'
        ? new FixedConcurrencyLimit(concurrency.limit)
        : new AdaptiveConcurrencyLimit({
            min: concurrency.min,
            max: concurrency.max,
            now: () => this.clock.now(),
          });
    const gate = new CircuitGate(breakerThreshold, breakerCooldownMs, this.clock, (state) => {
      for (const observer of this.observers) observer.breakerChanged?.(clusterUrl, state);
      if (state === 'open') this.scheduleWake(created);
      else this.schedulePump();
    });
    const created: Lane = {
      clusterUrl,
      queue: new Deque(),
      ready: new Deque(),
      sleeping: new Set(),
      inFlight: new Set(),
      limit,
      gate,
      wakeTimer: undefined,
      wakeAt: Infinity,
    };
    lane = created;
    this.lanes.set(clusterUrl, lane);
    return lane;
  }

  private isIdle(): boolean {
    return this.waiting === 0 && this.inFlight === 0;
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    // A later turn: the request that enqueued finishes its own work before any delivery starts.
    this.clock.defer(() => {
      this.pumpScheduled = false;
      for (const lane of this.lanes.values()) this.pump(lane);
    });
  }

  /** Starts attempts on `lane` while its limit has room and its gate lets them through. */
  private pump(lane: Lane): void {
    if (this.closed) return;
    this.expireQueued(lane, this.fullAttemptMs);
    while (lane.ready.length + lane.queue.length > 0 && lane.inFlight.size < lane.limit.limit) {
      if (!lane.gate.mayStart(lane.inFlight.size)) {
        this.expireReady(lane);
        this.scheduleWake(lane);
        break;
      }
      const job = (lane.ready.shift() ?? lane.queue.shift()) as Job;
      this.waiting--;
      this.start(lane, job);
    }
    this.notifyIfIdle();
  }

  /**
   * Expires queued notifications whose budget ran out (or has less than `marginMs` left). All share
   * one budget, so they expire in order.
   */
  private expireQueued(lane: Lane, marginMs = 0): void {
    const at = this.clock.now() + marginMs;
    for (let head = lane.queue.peek(); head && head.deadline <= at; head = lane.queue.peek()) {
      lane.queue.shift();
      this.waiting--;
      this.finish(head, 'expired');
    }
  }

  /** While the lane is stalled, retries that can no longer get a full attempt expire. */
  private expireReady(lane: Lane): void {
    if (lane.ready.length === 0) return;
    const at = this.clock.now() + this.fullAttemptMs;
    for (const job of lane.ready.drain()) {
      if (job.deadline > at) lane.ready.push(job);
      else {
        this.waiting--;
        this.finish(job, 'expired');
      }
    }
  }

  /** While the lane is stalled, pump it again when its gate may open or its oldest job expires. */
  private scheduleWake(lane: Lane): void {
    let at = Infinity;
    const head = lane.queue.peek();
    if (head) at = head.deadline - this.fullAttemptMs;
    // Retries are in wake-up order, not deadline order.
    for (const retry of lane.ready) at = Math.min(at, retry.deadline - this.fullAttemptMs);
    // While attempts are out, the first to come back pumps the lane: no need to poll the gate.
    const reopensAt = lane.inFlight.size > 0 ? undefined : lane.gate.reopensAt();
    if (reopensAt !== undefined) at = Math.min(at, reopensAt);
    if (at === Infinity || lane.ready.length + lane.queue.length === 0) return;
    const now = this.clock.now();
    at = Math.max(at, now + MIN_WAKE_MS);
    if (lane.wakeTimer !== undefined && lane.wakeAt <= at) return;
    this.clock.clearTimer(lane.wakeTimer);
    lane.wakeAt = at;
    lane.wakeTimer = this.clock.setTimer(() => {
      lane.wakeTimer = undefined;
      lane.wakeAt = Infinity;
      this.pump(lane);
    }, at - now);
  }

  private start(lane: Lane, job: Job): void {
    const remaining = job.deadline - this.clock.now();
    if (remaining < this.fullAttemptMs) return this.finish(job, 'expired');
    const timeoutMs = Math.max(1, Math.floor(Math.min(this.settings.requestTimeoutMs, remaining)));
    lane.inFlight.add(job);
    this.inFlight++;
    void this.attempt(lane, job, timeoutMs);
  }

  /** One attempt through the lane's gate, then what follows from its answer. Never rejects. */
  private async attempt(lane: Lane, job: Job, timeoutMs: number): Promise<void> {
    const startedAt = this.clock.now();
    let failure: AttemptFailure | undefined;
    let refused = false;
    try {
      failure = await lane.gate.execute(async () => {
        job.attempts++;
        const result = await attemptDelivery(
          this.transport,
          job.notification,
          job.endpoint,
          timeoutMs,
        );
        // A failure a payment may not retry still counts against the cluster in the breaker.
        if (result?.retryable || result?.withheld) throw new FailedAttempt(result);
        return result;
      });
    } catch (error) {
      if (error instanceof FailedAttempt) failure = error.failure;
      else if (error instanceof BrokenCircuitError) refused = true;
      else {
        // Unreachable unless there is a bug: attemptDelivery never rejects.
        this.logger.error(`Unexpected delivery error: ${describeError(error)}`);
        refused = true;
      }
    }
    // With the answer just in, this one included: how much of the limit was in use.
    const inFlightAtAnswer = lane.inFlight.size;
    // Abandoned at shutdown while the request was out: already settled and counted.
    if (!lane.inFlight.delete(job)) return;
    this.inFlight--;
    if (refused) {
      // The breaker turned while this one was on its way: it waits with the others, attempt unspent.
      // Not pumped at once: cockatiel reads its own clock, and a refusal must not become a loop.
      lane.ready.unshift(job);
      this.waiting++;
      this.scheduleWake(lane);
      return;
    }
    const durationMs = this.clock.now() - startedAt;
    lane.limit.onSample({
      startedAt,
      rttMs: durationMs,
      inFlight: inFlightAtAnswer,
      overloaded: failure?.overloaded ?? false,
      backlog: lane.inFlight.size + lane.queue.length + lane.ready.length + lane.sleeping.size,
    });
    for (const observer of this.observers) {
      observer.attempted?.(job.notification, lane.clusterUrl, job.attempts, durationMs, failure);
    }
    this.afterAttempt(lane, job, failure);
    this.pump(lane);
  }

  private afterAttempt(lane: Lane, job: Job, failure: AttemptFailure | undefined): void {
    if (job.single) {
      if (failure) this.holdIfAsked(lane, failure);
      job.settled = true;
      return job.single({ attempted: true, failure });
    }
    if (!failure) return this.finish(job, 'sent');
    if (!failure.notReceived) job.mayHaveArrived = true;
    if (!failure.retryable) {
      const status = failure.error.status;
      // Refused (4xx, a final answer), unless it is a failure only the kind's rule kept from a retry.
      const refusedByElevate =
        !failure.withheld && status !== undefined && status >= 400 && status < 500;
      return this.finish(job, refusedByElevate ? 'rejected' : 'failed', undefined, failure.error);
    }
    job.lastError = failure.error;
    const { retryMaxDelayMs, maxAttempts } = this.settings;
    const asked = failure.retryAfterMs;
    const retryAfter = asked === undefined ? undefined : Math.min(asked, retryMaxDelayMs);
    this.holdIfAsked(lane, failure);
    if (job.attempts >= maxAttempts) return this.finish(job, 'failed', undefined, failure.error);
    job.backoff = (job.backoff ?? this.backoff.next()).next(undefined);
    const delay = Math.max(job.backoff.duration, retryAfter ?? 0);
    if (this.clock.now() + delay > job.deadline - this.fullAttemptMs) {
      return this.finish(job, 'expired');
    }
    lane.sleeping.add(job);
    this.waiting++;
    job.timer = this.clock.setTimer(() => {
      if (!lane.sleeping.delete(job)) return;
      lane.ready.push(job);
      this.pump(lane);
    }, delay);
  }

  /**
   * The cluster asked everyone to wait (429 or 503 with `Retry-After`), not just this notification:
   * the lane holds as long as it asks, up to a breaker's cooldown (a pause the whole cluster takes
   * anyway after consecutive failures).
   */
  private holdIfAsked(lane: Lane, failure: AttemptFailure): void {
    const asked = failure.retryAfterMs;
    const status = failure.error.status;
    if (asked === undefined || (status !== 429 && status !== 503)) return;
    const { retryMaxDelayMs, breakerCooldownMs } = this.settings;
    lane.gate.hold(Math.min(asked, Math.max(retryMaxDelayMs, breakerCooldownMs)));
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.size === 0 || !this.isIdle()) return;
    for (const idle of [...this.idleWaiters]) idle();
    this.idleWaiters.clear();
  }

  /** Records a job's one final outcome: completion, then every observer. */
  private finish(
    job: Job,
    outcome: DeliveryOutcome,
    dropReason?: EsalesDropReason,
    error?: EsalesDeliveryError,
  ): void {
    if (job.settled) return;
    job.settled = true;
    if (job.single) {
      return job.single(
        outcome === 'dropped'
          ? { attempted: false, expired: false, dropReason: dropReason ?? 'queue-full' }
          : { attempted: false, expired: true },
      );
    }
    let final: EsalesDeliveryError | undefined;
    if (outcome === 'dropped') final = this.undelivered(job, dropReason ?? 'queue-full');
    else if (outcome !== 'sent') final = error ?? this.undelivered(job, 'expired');
    if (final) job.completion?.reject(final);
    else job.completion?.resolve();
    // One shape for every outcome: no spreads on the path every notification takes.
    const settled: SettledNotification = {
      notification: job.notification,
      outcome,
      attempts: job.attempts,
      mayHaveArrived: outcome === 'sent' || job.mayHaveArrived,
      dropReason: outcome === 'dropped' ? (dropReason ?? 'queue-full') : undefined,
      error: final,
      durationMs: this.clock.now() - (job.deadline - this.settings.deliveryTimeoutMs),
    };
    for (const observer of this.observers) observer.settled?.(settled);
  }

  private undelivered(job: Job, reason: EsalesUndeliveredReason): EsalesUndeliveredError {
    const context = errorContextOf(job.notification, job.endpoint);
    return new EsalesUndeliveredError(job.notification.kind, reason, job.attempts, context, {
      ...(reason === 'expired' ? { budgetMs: this.settings.deliveryTimeoutMs } : {}),
      ...(job.lastError ? { cause: job.lastError } : {}),
    });
  }
}

/** The worst of the clusters' breaker states. */
export const worstBreakerState = (states: Iterable<EsalesBreakerState>): EsalesBreakerState => {
  let worst: EsalesBreakerState = 'closed';
  for (const state of states) if (BREAKER_RANK[state] > BREAKER_RANK[worst]) worst = state;
  return worst;
};
