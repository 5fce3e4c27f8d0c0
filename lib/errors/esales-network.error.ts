import { EsalesDeliveryError, type EsalesDeliveryErrorContext } from './esales.error.js';
import { networkErrorMessage } from './esales.messages.js';

/** The request did not get an HTTP answer: connection refused or reset, DNS failure, and the like. */
export class EsalesNetworkError extends EsalesDeliveryError {
  /** The system or client error code (`ECONNREFUSED`, `ECONNRESET`, `ENOTFOUND`, …). */
  readonly code: string;

  constructor(endpointName: string, code: string, context: EsalesDeliveryErrorContext) {
    super(networkErrorMessage(endpointName, context.notificationId, context.market, code), context);
    this.code = code;
  }
}
