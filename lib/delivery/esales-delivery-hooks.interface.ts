import type { EsalesDeliveryError } from '../errors/esales.error.js';

/** What the delivery hooks learn about a notification. No customer key, session key or token. */
export interface EsalesDeliveryEvent {
  /** The notification's `id`, the same on every attempt. */
  readonly id: string;
  /** The notification's market. */
  readonly market: string;
  /** The clicked product's key, or null when only a variant was given. */
  readonly productKey: string | null;
  /** The clicked variant's key, or null when none was given. */
  readonly variantKey: string | null;
  /** HTTP attempts made (0 when it was never sent). */
  readonly attempts: number;
}

/** Why a notification was dropped. */
export type EsalesDropReason = 'queue-full' | 'shutdown';

/** Optional callbacks on a notification's fate. They run inside try/catch and must not block. */
export interface EsalesDeliveryHooks {
  /** Elevate accepted the notification. */
  onDelivered?: (event: EsalesDeliveryEvent) => unknown;
  /**
   * The notification got a final answer other than success, or ran out of time: `error` is an
   * `EsalesBadRequestError` / `EsalesCustomerKeyRejectedError` (rejected), `EsalesServerError`,
   * `EsalesTimeoutError`, `EsalesNetworkError` (failed after its attempts, or on an answer retrying
   * cannot change), or an `EsalesUndeliveredError` with reason `expired`.
   */
  onFailed?: (event: EsalesDeliveryEvent, error: EsalesDeliveryError) => unknown;
  /** The notification was never sent: the queue was full, or the app shut down first. */
  onDropped?: (event: EsalesDeliveryEvent, reason: EsalesDropReason) => unknown;
}
