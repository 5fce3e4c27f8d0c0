import { EsalesDeliveryError, type EsalesDeliveryErrorContext } from './esales.error.js';
import { statusErrorMessage } from './esales.messages.js';

/**
 * Elevate answered with a status this package does not treat as success, 400 or 403: a 5xx (cluster
 * unavailable or busy) or an unexpected 3xx/4xx.
 */
export class EsalesServerError extends EsalesDeliveryError {
  declare readonly status: number;
  /** The start of Elevate's response body (bounded in length), which may explain the failure. */
  readonly bodyExcerpt: string;
  /** The response's `Retry-After` header, when Elevate sent one. */
  readonly retryAfter?: string;

  constructor(
    endpointName: string,
    status: number,
    bodyExcerpt: string,
    context: EsalesDeliveryErrorContext,
    retryAfter?: string,
  ) {
    super(
      statusErrorMessage(endpointName, context.notificationId, context.market, status, bodyExcerpt),
      { ...context, status },
    );
    this.bodyExcerpt = bodyExcerpt;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }
}
