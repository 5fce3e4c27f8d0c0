import { EsalesDeliveryError, type EsalesDeliveryErrorContext } from './esales.error.js';
import { badRequestMessage } from './esales.messages.js';

/**
 * Elevate answered 400: the notification lacked something it needs (the product key, the ticket, a
 * valid payment line).
 */
export class EsalesBadRequestError extends EsalesDeliveryError {
  declare readonly status: 400;
  /** The start of Elevate's response body, if it sent one. */
  readonly bodyExcerpt: string;

  /** @param hint what Elevate's 400 means for this kind, said when its answer has no body. */
  constructor(
    endpointName: string,
    bodyExcerpt: string,
    context: EsalesDeliveryErrorContext,
    hint?: string,
  ) {
    super(
      badRequestMessage(endpointName, context.notificationId, context.market, bodyExcerpt, hint),
      { ...context, status: 400 },
    );
    this.bodyExcerpt = bodyExcerpt;
  }
}
