import { EsalesDeliveryError, type EsalesDeliveryErrorContext } from './esales.error.js';
import { undeliveredMessage } from './esales.messages.js';

/**
 * Why a valid notification was given up without a final answer from Elevate. `stalled` and `lost`
 * only with `delivery: 'bullmq'`: a payment whose worker died while it was in flight (never sent
 * twice), or a job whose outcome this instance never heard of.
 */
export type EsalesUndeliveredReason = 'queue-full' | 'expired' | 'shutdown' | 'stalled' | 'lost';

/**
 * A valid notification was given up before Elevate gave a final answer: the queue was full, its
 * `deliveryTimeoutMs` budget ran out (the last attempt's error, if any, is the `cause`), the app
 * shut down first, or (with BullMQ) its worker died while a payment was in flight.
 */
export class EsalesUndeliveredError extends EsalesDeliveryError {
  readonly reason: EsalesUndeliveredReason;
  /** HTTP attempts made before giving up. */
  readonly attempts: number;

  constructor(
    endpointName: string,
    reason: EsalesUndeliveredReason,
    attempts: number,
    context: EsalesDeliveryErrorContext,
    options: { budgetMs?: number; cause?: unknown } = {},
  ) {
    super(
      undeliveredMessage(
        endpointName,
        context.notificationId,
        context.market,
        reason,
        attempts,
        options.budgetMs,
      ),
      context,
    );
    this.reason = reason;
    this.attempts = attempts;
    if (options.cause !== undefined) {
      Object.defineProperty(this, 'cause', {
        value: options.cause,
        configurable: true,
        writable: true,
      });
    }
  }
}
