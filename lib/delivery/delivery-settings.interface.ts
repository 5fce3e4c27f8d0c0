/** @internal How many attempts may be in flight per cluster, as resolved from the options. */
export type ConcurrencySettings =
  | { readonly mode: 'fixed'; readonly limit: number }
  | { readonly mode: 'adaptive'; readonly min: number; readonly max: number };

/** @internal The engine's settings, validated and defaulted by `resolveEsalesOptions`. */
export interface DeliverySettings {
  readonly maxQueueSize: number;
  readonly concurrency: ConcurrencySettings;
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

/** @internal The most attempts in flight to one cluster the settings allow (what pools are sized to). */
export const maxInFlightOf = (concurrency: ConcurrencySettings): number =>
  concurrency.mode === 'fixed' ? concurrency.limit : concurrency.max;
