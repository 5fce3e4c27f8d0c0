import { EsalesDeliveryError, type EsalesDeliveryErrorContext } from './esales.error.js';
import { undeliveredMessage } from './esales.messages.js';

/** Why a valid notification was given up without a final answer from Elevate. */
export type EsalesUndeliveredReason = 'queue-full' | 'expired' | 'shutdown';

/**
 * A valid notification was given up before Elevate gave a final answer: the queue was full, its
 * `deliveryTimeoutMs` budget ran out (the last attempt's error, if any, is the `cause`), or the app
 * shut down first.
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
