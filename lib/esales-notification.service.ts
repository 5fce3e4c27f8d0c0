import { Injectable } from '@nestjs/common';
import { noteBuildLoaded } from './common/dual-package-guard.js';
import type { EsalesStats } from './delivery/esales-stats.interface.js';
import { NotificationPipeline, type EsalesPaymentOptions } from './notification-pipeline.js';
import {
  AddingToCart,
  Click,
  EndSession,
  NonEsalesAddingToCart,
  NonEsalesClick,
  Payment,
} from './notifications/index.js';
import type { AddingToCartNotification } from './notifications/adding-to-cart.notification.js';
import type { ClickNotification } from './notifications/click.notification.js';
import type { EndSessionNotification } from './notifications/end-session.notification.js';
import type { NonEsalesAddingToCartNotification } from './notifications/non-esales-adding-to-cart.notification.js';
import type { NonEsalesClickNotification } from './notifications/non-esales-click.notification.js';
import type { PaymentNotification } from './notifications/payment.notification.js';

// Every entry point that can hand out or inject this class loads this file: the place to notice
// a process that loaded both builds.
noteBuildLoaded();

/**
 * Sends Elevate 3 Web API v1 notifications for the markets configured in `EsalesModule`, all six
 * kinds through one bounded queue, a concurrency limit and a circuit breaker per cluster, retries
 * within each notification's budget, and a graceful drain at shutdown.
 *
 * Every kind has an awaitable `send…` and a fire-and-forget `enqueue…`:
 * - `send…` validates (throwing `EsalesValidationError` before any I/O), queues, and resolves once
 *   Elevate accepted it (2xx), or at once without I/O when the module is disabled. It rejects with
 *   `EsalesUnknownMarketError` when `markets` does not list the market; `EsalesBadRequestError` or
 *   `EsalesCustomerKeyRejectedError` when Elevate refused it (never retried); `EsalesServerError`,
 *   `EsalesTimeoutError` or `EsalesNetworkError` when the last attempt failed; and
 *   `EsalesUndeliveredError` when the queue was full, the `deliveryTimeoutMs` budget ran out or the
 *   app shut down first.
 * - `enqueue…` returns at once and never throws or waits on I/O. Invalid notifications and unknown
 *   markets are logged at debug and counted in `getStats().skippedBy`; delivery failures are logged
 *   at warn (rate-limited) and counted.
 *
 * With `delivery: 'bullmq'` the notification is written to Redis and delivered by a worker in any
 * instance; `send…` settles when that job finishes, through BullMQ's queue events (also on an
 * instance that runs no worker itself), with the same errors. If this process dies before the
 * outcome arrives, the promise is simply gone, not the notification: it is in Redis and is still
 * delivered. If this instance shuts down first, `send…` rejects with `EsalesUndeliveredError`
 * (`reason: 'lost'`: the outcome was not heard here) while delivery goes on elsewhere; and a payment
 * whose worker died mid-attempt rejects with `reason: 'stalled'` (it is never sent twice). While Redis
 * is unreachable, notifications are delivered from this process's memory, as without BullMQ.
 *
 * Retries: every kind but payments is retried while another attempt could succeed (Elevate
 * recognises a repeat by its `id`). Payments carry no `id`, so they are retried only when Elevate
 * surely did not take them; see `sendPayment`.
 */
@Injectable()
export class EsalesNotificationService {
  constructor(private readonly pipeline: NotificationPipeline) {}

  /**
   * Sends a non-eSales click (`non-esales-click`: the visitor clicked a product Elevate did not
   * return) and waits for the outcome. Body: `market, customerKey, sessionKey, id, token, productKey,
   * variantKey`. See the class for what it throws.
   */
  sendNonEsalesClick(notification: NonEsalesClickNotification): Promise<void> {
    return this.pipeline.send(NonEsalesClick, notification);
  }

  /** Queues a non-eSales click and returns at once (click tracking's path). See the class. */
  enqueueNonEsalesClick(notification: NonEsalesClickNotification): void {
    this.pipeline.enqueue(NonEsalesClick, notification);
  }

  /**
   * Sends a click (`click`) on a product Elevate returned, by its ticket, and waits for the outcome.
   * Body: `market, customerKey, sessionKey, id, token, ticket`.
   */
  sendClick(notification: ClickNotification): Promise<void> {
    return this.pipeline.send(Click, notification);
  }

  /** Queues a click (`click`) and returns at once. */
  enqueueClick(notification: ClickNotification): void {
    this.pipeline.enqueue(Click, notification);
  }

  /**
   * Sends an adding to cart (`adding-to-cart`) of a product Elevate returned, by its ticket, and
   * waits for the outcome. Body: `market, customerKey, sessionKey, id, token, ticket`.
   */
  sendAddingToCart(notification: AddingToCartNotification): Promise<void> {
    return this.pipeline.send(AddingToCart, notification);
  }

  /** Queues an adding to cart (`adding-to-cart`) and returns at once. */
  enqueueAddingToCart(notification: AddingToCartNotification): void {
    this.pipeline.enqueue(AddingToCart, notification);
  }

  /**
   * Sends a non-eSales adding to cart (`non-esales-adding-to-cart`) and waits for the outcome. Body:
   * `market, customerKey, sessionKey, id, token, productKey, variantKey`.
   */
  sendNonEsalesAddingToCart(notification: NonEsalesAddingToCartNotification): Promise<void> {
    return this.pipeline.send(NonEsalesAddingToCart, notification);
  }

  /** Queues a non-eSales adding to cart (`non-esales-adding-to-cart`) and returns at once. */
  enqueueNonEsalesAddingToCart(notification: NonEsalesAddingToCartNotification): void {
    this.pipeline.enqueue(NonEsalesAddingToCart, notification);
  }

  /**
   * Sends a payment (`payment`) and waits for the outcome. Body: `market, customerKey, sessionKey,
   * token, lines: [{ productKey, variantKey, quantity, sellingPrice, cost? }]`, no `id`.
   *
   * Signed whenever the market has a private key: `payment?paymentToken=…`, the HMAC-SHA256 (the
   * `MessageAuthentication` scheme) of the exact body bytes sent; every retry sends the same bytes
   * and token. (What is signed is inferred from Voyado's documentation, which says "stringifying the
   * payment object and signing it".) `cost` is only allowed in a signed payment.
   *
   * **Retried only when Elevate surely did not take it**: the connection could not be made
   * (`ECONNREFUSED`, `ENOTFOUND`, `EAI_AGAIN`, a connect timeout) or Elevate answered 503 or 429.
   * After a timeout or a connection lost once the request was written, it fails with that error
   * (whose message says why it was not retried) and counts in `getStats().notRetried`: a payment
   * carries no id, so Elevate would count a repeat as a second purchase.
   * @param options `dedupeKey` (such as the order id) skips a double-submitted checkout.
   */
  sendPayment(notification: PaymentNotification, options?: EsalesPaymentOptions): Promise<void> {
    return this.pipeline.send(Payment, notification, options);
  }

  /** Queues a payment (`payment`) and returns at once; see `sendPayment` for signing and retries. */
  enqueuePayment(notification: PaymentNotification, options?: EsalesPaymentOptions): void {
    this.pipeline.enqueue(Payment, notification, options);
  }

  /**
   * Ends the visitor's Elevate session (`end`) and waits for the outcome. Body: `market, customerKey,
   * sessionKey, token`, no `id`. `EsalesVisitorCookiesService.endSession` sends it and renews the
   * visitor's cookies, as the browser library's `endSession()` does.
   */
  sendEndSession(notification: EndSessionNotification): Promise<void> {
    return this.pipeline.send(EndSession, notification);
  }

  /** Queues an end of session (`end`) and returns at once. */
  enqueueEndSession(notification: EndSessionNotification): void {
    this.pipeline.enqueue(EndSession, notification);
  }

  /**
   * Waits until every queued notification has an outcome, or `timeoutMs` passed (default
   * `shutdownTimeoutMs`). Resolves true when the queue is empty and nothing is in flight.
   * Idempotent: call it as often as you like.
   */
  flush(timeoutMs?: number): Promise<boolean> {
    return this.pipeline.flush(timeoutMs);
  }

  /**
   * Counters since boot, in total and per kind (`byKind`), the queue's current state and each
   * cluster's concurrency limit and breaker; see `EsalesStats` for the invariant.
   */
  getStats(): EsalesStats {
    return this.pipeline.getStats();
  }
}
