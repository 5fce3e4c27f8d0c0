import { EsalesDeliveryError, type EsalesDeliveryErrorContext } from './esales.error.js';
import { timeoutMessage } from './esales.messages.js';

/** Elevate did not answer within `requestTimeoutMs`. */
export class EsalesTimeoutError extends EsalesDeliveryError {
  /** The per-request timeout that ran out, in milliseconds. */
  readonly timeoutMs: number;

  constructor(endpointName: string, timeoutMs: number, context: EsalesDeliveryErrorContext) {
    super(timeoutMessage(endpointName, context.notificationId, context.market, timeoutMs), context);
    this.timeoutMs = timeoutMs;
  }
}
