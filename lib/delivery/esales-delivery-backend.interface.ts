import type { EsalesDeliveryError } from '../errors/esales.error.js';
import type { PreparedNotification } from '../notifications/notification-kind.js';
import type { DeliveryTarget, SingleAttempt } from './delivery-engine.js';
import type { DeliverySettings } from './delivery-settings.interface.js';
import type { SettledNotification } from './delivery-observer.js';
import type { EsalesDeliveryBackendStats } from './esales-stats.interface.js';

export type { EsalesDeliveryBackendStats } from './esales-stats.interface.js';

/** The built-in delivery backends, by the name the `delivery` option and `ESALES_DELIVERY` take. */
export const DELIVERY_NAMES = ['memory', 'bullmq'] as const;
/** `'memory'`: the in-process engine. `'bullmq'`: Redis, through `nestjs-esales/bullmq`. */
export type EsalesDeliveryName = (typeof DELIVERY_NAMES)[number];

/** Settles the promise of `send…()`. */
export interface EsalesDeliveryCompletion {
  resolve(): void;
  reject(error: EsalesDeliveryError): void;
}

/**
 * @experimental What the package hands a delivery backend when the app starts: the in-memory engine
 * (for what the backend cannot take), one attempt through a cluster's concurrency limit, breaker
 * and `Retry-After` hold, and this instance's observers (stats, hooks, warnings).
 */
export interface EsalesDeliveryContext {
  readonly settings: DeliverySettings;
  /**
   * Delivers from this process's bounded in-memory engine. Never throws; false when dropped.
   * `counted`: `enqueued` was already called for it.
   */
  deliverInMemory(
    notification: PreparedNotification,
    target: DeliveryTarget,
    completion?: EsalesDeliveryCompletion,
    counted?: boolean,
  ): boolean;
  /** Tells this instance's stats that a notification was handed to the backend. */
  enqueued(notification: PreparedNotification): void;
  /**
   * One attempt, waiting at most `budgetMs` for the cluster's limit and breaker. Never rejects.
   * `attemptsBefore`: attempts already made (observers count retries from it).
   */
  attemptOnce(
    notification: PreparedNotification,
    target: DeliveryTarget,
    budgetMs: number,
    attemptsBefore?: number,
  ): Promise<SingleAttempt>;
  /** Reports a notification's final outcome to this instance's stats, hooks and warnings. */
  settled(settled: SettledNotification): void;
  /**
   * The outcome of a notification this instance produced, learnt from elsewhere (another
   * instance's worker): gives a payment's `dedupeKey` back when Elevate surely did not count it.
   */
  learnt(settled: SettledNotification): void;
}

/** What a backend reports to `EsalesHealthIndicator`. */
export interface EsalesDeliveryBackendHealth {
  /** False when the backend cannot take notifications now (they go to the in-memory engine). */
  readonly up: boolean;
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * @experimental Where queued notifications live until they are delivered, beside the in-memory
 * engine: `'bullmq'` is one (`nestjs-esales/bullmq`). The module calls `start` once at boot,
 * `enqueue` for each notification (synchronously, on the request path: O(1), no I/O awaited, never
 * throws), `flush` from `EsalesNotificationService.flush`, and `close` once at shutdown, before the
 * in-memory engine drains.
 */
export interface EsalesDeliveryBackend {
  readonly name: string;
  start(context: EsalesDeliveryContext): Promise<void>;
  /** Takes a validated notification. False when it was dropped (and counted). */
  enqueue(
    notification: PreparedNotification,
    target: DeliveryTarget,
    completion?: EsalesDeliveryCompletion,
  ): boolean;
  /** Waits until what this instance holds locally is handed over (or `timeoutMs` passed). */
  flush(timeoutMs: number): Promise<boolean>;
  stats(): EsalesDeliveryBackendStats;
  health(): Promise<EsalesDeliveryBackendHealth>;
  /** Stops taking notifications, hands over what it holds, and closes within `deadlineMs`. */
  close(deadlineMs: number): Promise<void>;
}
