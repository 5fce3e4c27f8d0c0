/*
 * The package's OpenTelemetry instruments and attributes: public API once released, so named once,
 * here, by the OpenTelemetry naming guidance for libraries (a namespace of our own, dot-separated,
 * units in UCUM, no `.total` or unit in the name).
 */

/** Instrument names. */
export const ESALES_METRICS = {
  /** Counter (asynchronous), `{notification}`: notifications handed to delivery. */
  enqueued: 'esales.notification.enqueued',
  /** Counter (asynchronous), `{notification}`: notifications by final outcome. */
  outcomes: 'esales.notification.outcomes',
  /** Counter (asynchronous), `{notification}`: notifications deliberately not sent, by reason. */
  skipped: 'esales.notification.skipped',
  /** Histogram, `s`: from being queued to the final outcome. */
  duration: 'esales.notification.duration',
  /** Histogram, `s`: one HTTP attempt at Elevate. */
  attemptDuration: 'esales.attempt.duration',
  /** Observable gauge, `{notification}`: waiting for a first or a next attempt, per cluster. */
  queueSize: 'esales.queue.size',
  /** Observable gauge, `{attempt}`: attempts in flight, per cluster. */
  inFlight: 'esales.attempt.in_flight',
  /** Observable gauge, `{attempt}`: the concurrency limit, per cluster. */
  concurrencyLimit: 'esales.concurrency.limit',
  /** Observable gauge, `1`: the breaker per cluster: 0 closed, 1 half-open, 2 open. */
  breakerState: 'esales.breaker.state',
  /** Observable gauge, `{job}`: jobs waiting in the BullMQ queues (Redis), with `delivery: 'bullmq'`. */
  redisQueueSize: 'esales.bullmq.queue.size',
} as const;

/** Attribute names. All low-cardinality: never a key, id, token or product key. */
export const ESALES_ATTRIBUTES = {
  kind: 'esales.notification.kind',
  /** A configured market; `_other` for markets outside `markets` when none is configured. */
  market: 'esales.market',
  outcome: 'esales.notification.outcome',
  dropReason: 'esales.drop.reason',
  skipReason: 'esales.skip.reason',
  /** `success` or `failure`, of one attempt. */
  attemptOutcome: 'esales.attempt.outcome',
  /** The cluster's base URL (no credentials: the options refuse them). */
  cluster: 'esales.cluster',
  /** OpenTelemetry's own: an HTTP status (`503`), `timeout`, a network code, or an undelivered reason. */
  errorType: 'error.type',
} as const;

/** What `esales.breaker.state` reports for each state. */
export const BREAKER_STATE_VALUES = { closed: 0, 'half-open': 1, open: 2 } as const;
