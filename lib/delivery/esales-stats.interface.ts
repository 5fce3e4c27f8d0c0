/** Why a notification was not handed to the delivery queue. */
export type EsalesSkipReason =
  /** It failed validation (missing keys, too long, control characters, …). */
  | 'invalid'
  /** Its market is not one of the configured `markets`. */
  | 'unknownMarket'
  /** The module is configured with `enabled: false`. */
  | 'disabled'
  /** Click tracking: the request came from a bot (`ignoreBots`). */
  | 'bot'
  /**
   * Click tracking: a signed-in (SHA-256) customer key whose token does not verify with the market's
   * private key; Elevate would answer 403.
   */
  | 'customerKeyNotVerified'
  /** Click tracking: a HEAD request (link checkers, mail scanners), not a visitor's click. */
  | 'headRequest';

/** State of the circuit breaker shared by the whole queue. */
export type EsalesBreakerState = 'closed' | 'open' | 'half-open';

/**
 * Counters of `EsalesNotificationService`, since the app started. At rest (`queued` and `inFlight`
 * both 0), every enqueued notification is exactly one of sent, rejected, dropped, expired or failed:
 * `enqueued === sent + rejected + dropped + expired + failed`.
 */
export interface EsalesStats {
  /** Notifications accepted for delivery (valid, allowed market, enabled). */
  readonly enqueued: number;
  /** Accepted by Elevate (2xx). */
  readonly sent: number;
  /** Attempts after the first one (one notification may be retried several times). */
  readonly retried: number;
  /** Refused by Elevate with a 4xx (400, 403, …); never retried. */
  readonly rejected: number;
  /** Never attempted or given up without an answer: the queue was full, or the app shut down. */
  readonly dropped: number;
  /**
   * The part of `dropped` lost to shutdown: still queued or in flight when `shutdownTimeoutMs` ran
   * out, or enqueued after the shutdown finished.
   */
  readonly abandoned: number;
  /**
   * Ran out of `deliveryTimeoutMs`, or had too little of it left for another attempt (queued behind
   * an outage, waiting on the breaker, or retrying).
   */
  readonly expired: number;
  /** Gave up after `maxAttempts`, or on an answer retrying cannot change (501, 505, 3xx). */
  readonly failed: number;
  /** Not enqueued at all; `skippedBy` says why. */
  readonly skipped: number;
  /** `skipped`, by reason. */
  readonly skippedBy: Readonly<Record<EsalesSkipReason, number>>;
  /** Waiting in the queue now. */
  readonly queued: number;
  /** Being delivered now (an attempt in progress, or waiting to retry). */
  readonly inFlight: number;
  /** The queue's bound (`maxQueueSize`). */
  readonly maxQueueSize: number;
  /** State of the circuit breaker. */
  readonly breaker: EsalesBreakerState;
}

/** What the delivery hooks learn about a notification. No customer key, session key or token. */
export interface EsalesDeliveryEvent {
  /** The notification's `id`, the same on every attempt. */
  readonly id: string;
  readonly market: string;
  readonly productKey: string | null;
  readonly variantKey: string | null;
  /** HTTP attempts made (0 when it was never sent). */
  readonly attempts: number;
}

/** Why a notification was dropped. */
export type EsalesDropReason = 'queue-full' | 'shutdown';
