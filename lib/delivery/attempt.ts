import { maskCustomerKey } from '../common/redact.js';
import { sanitise } from '../common/sanitize.js';
import { BODY_EXCERPT_LENGTH } from '../esales.constants.js';
import { EsalesBadRequestError } from '../errors/esales-bad-request.error.js';
import { EsalesCustomerKeyRejectedError } from '../errors/esales-customer-key-rejected.error.js';
import type { EsalesDeliveryError, EsalesDeliveryErrorContext } from '../errors/esales.error.js';
import { EsalesNetworkError } from '../errors/esales-network.error.js';
import { EsalesServerError } from '../errors/esales-server.error.js';
import { EsalesTimeoutError } from '../errors/esales-timeout.error.js';
import { NOTIFICATION_KINDS } from '../notifications/index.js';
import type { PreparedNotification } from '../notifications/notification-kind.js';
import {
  EsalesTransportFailure,
  type EsalesTransport,
  type EsalesTransportResponse,
} from '../transport/esales-transport.interface.js';
import {
  isRetryableNetworkCode,
  isRetryableStatus,
  neverReachedServer,
  retryAfterMs,
} from './retry-rules.js';

/*
 * One HTTP attempt and what its answer means: the part every delivery backend shares. No queue, no
 * retries, no state.
 */

/** What a payment's error says when it was not retried. */
export const NOT_RETRIED_NOTE =
  'Not retried: Elevate may have received it, and a payment carries no id by which Elevate could ' +
  'recognise a repeat, so sending it again could count the purchase twice';

/** The typed error for one attempt's outcome, and whether another attempt could change it. */
export interface AttemptFailure {
  readonly error: EsalesDeliveryError;
  readonly retryable: boolean;
  /**
   * Another attempt could change the outcome, but the notification's kind forbids it: a payment
   * Elevate may have received (timeout, connection lost after the request was written).
   */
  readonly withheld: boolean;
  /**
   * Elevate surely did not take it: the connection was never made, the request never written, or
   * the answer was 503 or 429.
   */
  readonly notReceived: boolean;
  /** What `Retry-After` asked for, in milliseconds. */
  readonly retryAfterMs?: number;
  /**
   * The cluster said it is overloaded or did not answer in time (5xx, 408, 429, a timeout, a network
   * error): the concurrency limit backs off.
   */
  readonly overloaded: boolean;
}

/**
 * The context of a notification's errors; only built when there is an error to describe. `endpoint`
 * is the URL without its query string: a payment's token never reaches an error.
 */
export const errorContextOf = (
  prepared: PreparedNotification,
  endpoint: string,
): EsalesDeliveryErrorContext => ({
  market: prepared.market,
  endpoint,
  notificationId: prepared.id,
  kind: prepared.kind,
});

/**
 * Sends one notification once: to `endpoint` plus the notification's query string. Resolves with
 * undefined when Elevate accepted it (2xx), otherwise with the typed failure; never rejects.
 */
export async function attemptDelivery(
  transport: EsalesTransport,
  prepared: PreparedNotification,
  endpoint: string,
  timeoutMs: number,
): Promise<AttemptFailure | undefined> {
  const url = prepared.query ? endpoint + prepared.query : endpoint;
  try {
    const response = await transport.send({ url, body: prepared.body, timeoutMs });
    if (response.status >= 200 && response.status < 300) return undefined;
    return failureOfAnswer(response, prepared, errorContextOf(prepared, endpoint));
  } catch (error) {
    return failureOfTransport(error, timeoutMs, prepared, errorContextOf(prepared, endpoint));
  }
}

/**
 * Whether a failure worth another attempt may have one: always, unless the kind is retried only when
 * Elevate surely did not take it and this failure does not show that.
 */
const decide = (
  prepared: PreparedNotification,
  retryable: boolean,
  notReceived: boolean,
): { retryable: boolean; withheld: boolean } => {
  const withheld = retryable && prepared.retry === 'only-when-not-received' && !notReceived;
  return { retryable: retryable && !withheld, withheld };
};

/** Maps a non-2xx answer to its typed error. */
export function failureOfAnswer(
  response: EsalesTransportResponse,
  prepared: PreparedNotification,
  context: EsalesDeliveryErrorContext,
): AttemptFailure {
  const { status } = response;
  const excerpt = excerptOf(response.body, prepared);
  // 503 and 429: Elevate turned it away unprocessed.
  const notReceived = status === 503 || status === 429;
  const { retryable, withheld } = decide(prepared, isRetryableStatus(status), notReceived);
  const noted = withheld ? { ...context, note: NOT_RETRIED_NOTE } : context;
  const name = prepared.kind;
  let error: EsalesDeliveryError;
  if (status === 400) {
    const hint = NOTIFICATION_KINDS[name].badRequestHint;
    error = new EsalesBadRequestError(name, excerpt, context, hint);
  } else if (status === 403) error = new EsalesCustomerKeyRejectedError(name, context);
  else {
    // Kept for the app to read, but it is the cluster's text: sanitised and bounded like the body.
    const retryAfter =
      response.retryAfter === undefined
        ? undefined
        : sanitise(scrubbed(response.retryAfter, prepared), RETRY_AFTER_LENGTH);
    error = new EsalesServerError(name, status, excerpt, noted, retryAfter);
  }
  const wait = retryable ? retryAfterMs(response.retryAfter) : undefined;
  return {
    error,
    retryable,
    withheld,
    notReceived,
    overloaded: isRetryableStatus(status),
    ...(wait !== undefined ? { retryAfterMs: wait } : {}),
  };
}

/** Maps a transport failure (no answer) to its typed error. */
export function failureOfTransport(
  failure: unknown,
  timeoutMs: number,
  prepared: PreparedNotification,
  context: EsalesDeliveryErrorContext,
): AttemptFailure {
  const transportFailure = failure instanceof EsalesTransportFailure ? failure : undefined;
  const code = transportFailure?.code ?? 'ERR_UNKNOWN';
  const timedOut = transportFailure?.kind === 'timeout';
  const worthRetrying = timedOut || isRetryableNetworkCode(code);
  const notReceived = transportFailure?.requestSent === false || neverReachedServer(code);
  const { retryable, withheld } = decide(prepared, worthRetrying, notReceived);
  const noted = withheld ? { ...context, note: NOT_RETRIED_NOTE } : context;
  const error = timedOut
    ? new EsalesTimeoutError(prepared.kind, timeoutMs, noted)
    : new EsalesNetworkError(prepared.kind, code, noted);
  return { error, retryable, withheld, notReceived, overloaded: worthRetrying };
}

/** Keys shorter than this are not masked in excerpts: masking `p` would mask every letter p. */
const MIN_MASKED_KEY_LENGTH = 8;

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Longest `Retry-After` kept on an error. */
const RETRY_AFTER_LENGTH = 64;

/**
 * `text` from the cluster with the request's secrets (token, payment token) scrubbed in any letter
 * case, and its customer and session keys masked as in log lines, should the cluster echo them.
 */
function scrubbed(text: string, prepared: PreparedNotification): string {
  let result = text;
  if (prepared.secrets.length > 0) {
    const secrets = new RegExp(prepared.secrets.map(escapeRegExp).join('|'), 'gi');
    result = result.replace(secrets, '[token]');
  }
  for (const key of [prepared.customerKey, prepared.sessionKey]) {
    if (key.length < MIN_MASKED_KEY_LENGTH) continue;
    result = result.replace(new RegExp(escapeRegExp(key), 'gi'), maskCustomerKey(key));
  }
  return result;
}

/**
 * A bounded, single-line, sanitised excerpt of a response body, scrubbed (see `scrubbed`) over the
 * whole body the transport read, before it is cut.
 */
export function excerptOf(body: string, prepared: PreparedNotification): string {
  return sanitise(scrubbed(body, prepared).replace(/\s+/g, ' ').trim(), BODY_EXCERPT_LENGTH);
}
