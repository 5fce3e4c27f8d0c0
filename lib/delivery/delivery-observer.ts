import type { EsalesDeliveryError } from '../errors/esales.error.js';
import type { PreparedNotification } from '../notifications/notification-kind.js';
import type { EsalesNotificationKindName } from '../notifications/notification-kind.js';
import type { AttemptFailure } from './attempt.js';
import type { EsalesDropReason } from './esales-delivery-hooks.interface.js';
import type { EsalesBreakerState, EsalesSkipReason } from './esales-stats.interface.js';

/** A notification's one final outcome. */
export type DeliveryOutcome = 'sent' | 'rejected' | 'failed' | 'expired' | 'dropped';

/** @internal What observers learn when a notification settles. */
export interface SettledNotification {
  readonly notification: PreparedNotification;
  readonly outcome: DeliveryOutcome;
  /** HTTP attempts made. */
  readonly attempts: number;
  /**
   * Elevate may have taken it: it was sent, or an attempt got an answer or failed after its request
   * may have been written. False when every attempt surely failed to arrive (or none was made).
   */
  readonly mayHaveArrived: boolean;
  /** Set for `dropped`. */
  readonly dropReason: EsalesDropReason | undefined;
  /** Set for every outcome but `sent`: what the caller of `send…()` is rejected with. */
  readonly error: EsalesDeliveryError | undefined;
  /** Milliseconds from being queued to this outcome; undefined when not known here. */
  readonly durationMs: number | undefined;
}

/**
 * @internal Something that wants to know what the delivery engine does: stats, the app's hooks,
 * warnings, and later metrics. Every method is optional and must not throw; the engine calls them in
 * the order the observers were registered.
 */
export interface DeliveryObserver {
  /** A notification was admitted (or, when the engine is shut down, is about to be dropped). */
  enqueued?(notification: PreparedNotification): void;
  /** One HTTP attempt finished: `failure` is undefined on a 2xx. `attempt` counts from 1. */
  attempted?(
    notification: PreparedNotification,
    cluster: string,
    attempt: number,
    durationMs: number,
    failure: AttemptFailure | undefined,
  ): void;
  /** A notification has its final outcome. */
  settled?(settled: SettledNotification): void;
  /** A notification of `kind` was not handed to the engine at all. */
  skipped?(reason: EsalesSkipReason, kind: EsalesNotificationKindName): void;
  /** A cluster's circuit breaker changed state. */
  breakerChanged?(cluster: string, state: EsalesBreakerState): void;
  /** At shutdown, what was left undelivered was abandoned. */
  abandoned?(queued: number, inFlight: number): void;
}
