import type { EsalesDeliveryError } from '../errors/esales.error.js';
import type { EsalesNotificationKindName } from '../notifications/notification-kind.js';

/**
 * What the delivery hooks learn about a notification. No customer key, session key, token or
 * payment token.
 */
export interface EsalesDeliveryEvent {
  /** The kind of notification: its endpoint's name (`click`, `payment`, …). */
  readonly kind: EsalesNotificationKindName;
  /**
   * The notification's `id`, the same on every attempt. For payments and `end`, which send none, an
   * id of the package's own that never reaches Elevate.
   */
  readonly id: string;
  /** The notification's market. */
  readonly market: string;
  /** The product's key (non-eSales clicks and adding to cart), or null when it has none. */
  readonly productKey: string | null;
  /** The variant's key (non-eSales clicks and adding to cart), or null when it has none. */
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
