import { EsalesDeliveryError, type EsalesDeliveryErrorContext } from './esales.error.js';
import { customerKeyRejectedMessage } from './esales.messages.js';

/**
 * Elevate answered 403: a SHA-256 (signed-in) customer key was sent without a token that validates
 * with the cluster's private key. Retrying cannot help.
 */
export class EsalesCustomerKeyRejectedError extends EsalesDeliveryError {
  declare readonly status: 403;

  constructor(endpointName: string, context: EsalesDeliveryErrorContext) {
    super(customerKeyRejectedMessage(endpointName, context.notificationId, context.market), {
      ...context,
      status: 403,
    });
  }
}
