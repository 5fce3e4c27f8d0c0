import type { EsalesNotificationKindName } from '../notifications/notification-kind.js';

/** What a delivery backend reports in `getStats().backend`. */
export interface EsalesDeliveryBackendStats {
  /** `'memory'`, `'bullmq'`, or a custom backend's name. */
  readonly name: string;
  readonly [detail: string]: unknown;
}

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
  | 'headRequest'
  /** A payment whose `dedupeKey` was sent, or is on its way, within the dedupe window. */
  | 'duplicate'
  /** Tracking: the module's `consent(request)` said no (or threw): no cookie, no notification. */
  | 'noConsent';

/** State of a cluster's circuit breaker. */
export type EsalesBreakerState = 'closed' | 'open' | 'half-open';

/** Delivery to one Elevate cluster (markets that share a cluster URL share it). */
export interface EsalesClusterStats {
  /** Waiting for their first attempt to this cluster. */
  readonly queued: number;
  /** Waiting for their next attempt (backoff, `Retry-After`); they hold no slot. */
  readonly retrying: number;
  /** HTTP attempts to this cluster in progress. */
  readonly inFlight: number;
  /**
   * Attempts allowed in flight now: the fixed `concurrency`, or where the adaptive limit stands
   * (between `minConcurrency` and `maxConcurrency`).
   */
  readonly concurrencyLimit: number;
  /**
   * The no-load latency the adaptive limit compares against, in milliseconds: the lowest window
   * average seen. Null with a fixed `concurrency`, and before the first window closed.
   */
  readonly latencyBaselineMs: number | null;
  /** State of this cluster's circuit breaker. */
  readonly breaker: EsalesBreakerState;
  /**
   * Epoch milliseconds until which new attempts are held back, because the cluster answered 429 or
   * 503 with `Retry-After`; null when not held.
   */
  readonly heldUntil: number | null;
}

/**
 * Counters since the app started, for all notifications together (`EsalesStats`) or for one kind
 * (`EsalesStats.byKind`). At rest, every enqueued notification is exactly one of sent, rejected,
 * dropped, expired or failed: `enqueued === sent + rejected + dropped + expired + failed`.
 */
export interface EsalesKindStats {
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
  /** Gave up after `maxAttempts`, or on an answer retrying cannot change (501, 505, 3xx, …). */
  readonly failed: number;
  /**
   * The part of `failed` that another attempt might have delivered, but that was not retried because
   * Elevate may already have taken it: payments (which carry no id) after a timeout or a connection
   * lost once the request was written, a reset on a reused keep-alive connection included.
   */
  readonly notRetried: number;
  /** Not enqueued at all; `skippedBy` says why. */
  readonly skipped: number;
  /** `skipped`, by reason. */
  readonly skippedBy: Readonly<Record<EsalesSkipReason, number>>;
}

/**
 * Counters of `EsalesNotificationService`, since the app started, in total and per kind, with the
 * queue's state now. At rest (`queued`, `retrying` and `inFlight` all 0), every enqueued notification
 * is exactly one of sent, rejected, dropped, expired or failed:
 * `enqueued === sent + rejected + dropped + expired + failed`.
 */
export interface EsalesStats extends EsalesKindStats {
  /** The same counters for each kind of notification. */
  readonly byKind: Readonly<Record<EsalesNotificationKindName, EsalesKindStats>>;
  /** Waiting for their first attempt now, all clusters together. */
  readonly queued: number;
  /** Waiting for their next attempt now (backoff, `Retry-After`), all clusters together. */
  readonly retrying: number;
  /** HTTP attempts in progress now, all clusters together. */
  readonly inFlight: number;
  /** The bound on `queued + retrying` (`maxQueueSize`). */
  readonly maxQueueSize: number;
  /** The worst breaker state among the clusters: open, then half-open, then closed. */
  readonly breaker: EsalesBreakerState;
  /** The clusters' concurrency limits added up: attempts allowed in flight now. */
  readonly concurrencyLimit: number;
  /**
   * The latency baseline of the slowest cluster, in milliseconds (see
   * `EsalesClusterStats.latencyBaselineMs`); null while no cluster has one.
   */
  readonly latencyBaselineMs: number | null;
  /** Per cluster, by cluster base URL (no credentials: the options refuse them). */
  readonly clusters: Readonly<Record<string, EsalesClusterStats>>;
  /**
   * The delivery backend: `{ name: 'memory' }`, or with `delivery: 'bullmq'` its own counters
   * (`redis`, `toRedis`, `toMemory`, `buffered`, …; see the README's "Durable delivery"). With
   * BullMQ the counters above are this instance's: `enqueued` counts what it produced, the outcomes
   * what its workers (and its in-memory fallback) delivered.
   */
  readonly backend: EsalesDeliveryBackendStats;
}
