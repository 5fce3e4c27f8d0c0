/** Logger context of everything this package logs. */
export const ESALES_LOGGER_CONTEXT = 'Esales';

/** Injection token of the validated, resolved options (`ResolvedEsalesOptions`). */
export const ESALES_RESOLVED_OPTIONS = Symbol('ESALES_RESOLVED_OPTIONS');

/** Injection token of the transport that carries notifications to Elevate. */
export const ESALES_TRANSPORT = Symbol('ESALES_TRANSPORT');
/** DI token of the OpenTelemetry side (metrics, tracing control), or null when not loaded. */
export const ESALES_TELEMETRY = Symbol('ESALES_TELEMETRY');
/** DI token of the delivery backend beside the in-memory engine (null for `delivery: 'memory'`). */
export const ESALES_DELIVERY_BACKEND = Symbol('ESALES_DELIVERY_BACKEND');

/** Elevate's public host pattern for a cluster id. */
export const clusterUrlForId = (clusterId: string): string =>
  `https://${clusterId}.api.esales.apptus.cloud`;

/** Paths of the six Web API v1 notification endpoints this package sends to. */
export const NOTIFICATION_PATHS = Object.freeze({
  nonEsalesClick: '/api/v1/notifications/non-esales-click',
  click: '/api/v1/notifications/click',
  addingToCart: '/api/v1/notifications/adding-to-cart',
  nonEsalesAddingToCart: '/api/v1/notifications/non-esales-adding-to-cart',
  payment: '/api/v1/notifications/payment',
  endSession: '/api/v1/notifications/end',
} as const);

export const DEFAULT_REQUEST_TIMEOUT_MS = 2000;
export const MAX_REQUEST_TIMEOUT_MS = 600_000;

/** How much of an error response body is kept for error messages. */
export const BODY_EXCERPT_LENGTH = 512;

/** Defaults of the delivery engine's options (see `EsalesModuleOptions`). */
export const DELIVERY_DEFAULTS = {
  maxQueueSize: 10_000,
  minConcurrency: 16,
  maxConcurrency: 256,
  maxAttempts: 20,
  retryBaseDelayMs: 200,
  retryMaxDelayMs: 1_000,
  deliveryTimeoutMs: 15_000,
  shutdownTimeoutMs: 5_000,
  breakerThreshold: 5,
  breakerCooldownMs: 5_000,
} as const;

/**
 * Default of `deliveryTimeoutMs` with `delivery: 'bullmq'`: 10 minutes, so that a notification
 * survives a crash of the instance holding it and BullMQ's stall check handing it to another one.
 */
export const BULLMQ_DELIVERY_TIMEOUT_MS = 600_000;

/** The default of the `delivery` option: the in-process engine. */
export const DEFAULT_DELIVERY = 'memory' as const;

/** Defaults of the `bullmq` options (see `EsalesBullmqOptions`). */
export const BULLMQ_DEFAULTS = {
  queueName: 'nestjs-esales',
  worker: true,
  stalledIntervalMs: 30_000,
  lockDurationMs: 30_000,
} as const;

/** Bounds of the `bullmq` options' intervals, in milliseconds. */
export const BULLMQ_LIMITS = {
  minIntervalMs: 100,
  maxIntervalMs: 600_000,
  queueNameLength: 64,
} as const;

/** Upper bounds of the delivery engine's options, to catch a misplaced digit at boot. */
export const DELIVERY_LIMITS = {
  maxQueueSize: 10_000_000,
  concurrency: 1_024,
  maxAttempts: 1_000,
  retryBaseDelayMs: 600_000,
  retryMaxDelayMs: 600_000,
  deliveryTimeoutMs: 3_600_000,
  shutdownTimeoutMs: 600_000,
  breakerThreshold: 10_000,
  breakerCooldownMs: 600_000,
} as const;

/** Repeated warnings of one kind are logged at most once per this many milliseconds. */
export const WARN_INTERVAL_MS = 10_000;

/** Defaults of the `beacon` options (see `EsalesBeaconOptions`). */
export const BEACON_DEFAULTS = {
  maxBodyBytes: 4_096,
  rateLimit: { points: 20, durationS: 10 },
  /** A body not fully received this many milliseconds after the checks passed gets 408. */
  readTimeoutMs: 5_000,
  /** Clients the rate limiter tracks at once; past it, new ones share one overflow bucket. */
  maxRateLimitKeys: 100_000,
} as const;

/** Bounds of the `beacon` options. */
export const BEACON_LIMITS = {
  pathLength: 200,
  minBodyBytes: 64,
  maxBodyBytes: 65_536,
  points: 100_000,
  durationS: 86_400,
} as const;
