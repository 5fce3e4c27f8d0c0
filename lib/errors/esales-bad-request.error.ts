import { EsalesDeliveryError, type EsalesDeliveryErrorContext } from './esales.error.js';
import { badRequestMessage } from './esales.messages.js';

/** Elevate answered 400: the notification lacked something it needs (for clicks, the product key). */
export class EsalesBadRequestError extends EsalesDeliveryError {
  declare readonly status: 400;
  /** The start of Elevate's response body, if it sent one. */
  readonly bodyExcerpt: string;

  constructor(endpointName: string, bodyExcerpt: string, context: EsalesDeliveryErrorContext) {
    super(badRequestMessage(endpointName, context.notificationId, context.market, bodyExcerpt), {
      ...context,
      status: 400,
    });
    this.bodyExcerpt = bodyExcerpt;
  }
}
