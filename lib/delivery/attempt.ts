import { BODY_EXCERPT_LENGTH } from '../esales.constants.js';
import { EsalesBadRequestError } from '../errors/esales-bad-request.error.js';
import { EsalesCustomerKeyRejectedError } from '../errors/esales-customer-key-rejected.error.js';
import type { EsalesDeliveryError, EsalesDeliveryErrorContext } from '../errors/esales.error.js';
import { EsalesNetworkError } from '../errors/esales-network.error.js';
import { EsalesServerError } from '../errors/esales-server.error.js';
import { EsalesTimeoutError } from '../errors/esales-timeout.error.js';
import type { PreparedNotification } from '../notifications/non-esales-click.notification.js';
import {
  EsalesTransportFailure,
  type EsalesTransport,
  type EsalesTransportResponse,
} from '../transport/esales-transport.interface.js';
import { isRetryableNetworkCode, isRetryableStatus, retryAfterMs } from './retry-rules.js';

/*
 * One HTTP attempt and what its answer means: the part every delivery backend shares. No queue, no
 * retries, no state.
 */

/** Name of the endpoint in messages. */
export const NON_ESALES_CLICK = 'non-esales-click';

/** The typed error for one attempt's outcome, and whether another attempt could change it. */
export interface AttemptFailure {
  readonly error: EsalesDeliveryError;
  readonly retryable: boolean;
  /** What `Retry-After` asked for, in milliseconds. */
  readonly retryAfterMs?: number;
  /**
   * The cluster said it is overloaded or did not answer in time (5xx, 408, 429, a timeout, a network
   * error): the concurrency limit backs off.
   */
  readonly overloaded: boolean;
}

/** The context of a notification's errors; only built when there is an error to describe. */
export const errorContextOf = (
  prepared: PreparedNotification,
  endpoint: string,
): EsalesDeliveryErrorContext => ({
  market: prepared.market,
  endpoint,
  notificationId: prepared.id,
});

/**
 * Sends one notification once to `endpoint`. Resolves with undefined when Elevate accepted it
 * (2xx), otherwise with the typed failure; never rejects.
 */
export async function attemptDelivery(
  transport: EsalesTransport,
  prepared: PreparedNotification,
  endpoint: string,
  timeoutMs: number,
): Promise<AttemptFailure | undefined> {
  try {
    const response = await transport.send({ url: endpoint, body: prepared.body, timeoutMs });
    if (response.status >= 200 && response.status < 300) return undefined;
    return failureOfAnswer(response, prepared, errorContextOf(prepared, endpoint));
  } catch (error) {
    return failureOfTransport(error, timeoutMs, errorContextOf(prepared, endpoint));
  }
}

/** Maps a non-2xx answer to its typed error. */
export function failureOfAnswer(
  response: EsalesTransportResponse,
  prepared: PreparedNotification,
  context: EsalesDeliveryErrorContext,
): AttemptFailure {
  const { status } = response;
  const excerpt = excerptOf(response.body, prepared);
  let error: EsalesDeliveryError;
  if (status === 400) error = new EsalesBadRequestError(NON_ESALES_CLICK, excerpt, context);
  else if (status === 403) error = new EsalesCustomerKeyRejectedError(NON_ESALES_CLICK, context);
  else
    error = new EsalesServerError(NON_ESALES_CLICK, status, excerpt, context, response.retryAfter);
  const retryable = isRetryableStatus(status);
  const wait = retryable ? retryAfterMs(response.retryAfter) : undefined;
  return {
    error,
    retryable,
    overloaded: retryable,
    ...(wait !== undefined ? { retryAfterMs: wait } : {}),
  };
}

/** Maps a transport failure (no answer) to its typed error. */
export function failureOfTransport(
  failure: unknown,
  timeoutMs: number,
  context: EsalesDeliveryErrorContext,
): AttemptFailure {
  if (failure instanceof EsalesTransportFailure && failure.kind === 'timeout') {
    return {
      error: new EsalesTimeoutError(NON_ESALES_CLICK, timeoutMs, context),
      retryable: true,
      overloaded: true,
    };
  }
  const code = failure instanceof EsalesTransportFailure ? failure.code : 'ERR_UNKNOWN';
  const retryable = isRetryableNetworkCode(code);
  return {
    error: new EsalesNetworkError(NON_ESALES_CLICK, code, context),
    retryable,
    overloaded: retryable,
  };
}

/** A bounded, single-line excerpt of a response body, with the request's token scrubbed if echoed. */
function excerptOf(body: string, prepared: PreparedNotification): string {
  let text = body.slice(0, BODY_EXCERPT_LENGTH * 2);
  if (prepared.token) text = text.split(prepared.token).join('[token]');
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > BODY_EXCERPT_LENGTH ? `${text.slice(0, BODY_EXCERPT_LENGTH)}…` : text;
}
