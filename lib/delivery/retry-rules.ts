/**
 * Which failures are worth another attempt. Pure functions, unit-tested on their own.
 *
 * Retried: 5xx except 501 (Not Implemented) and 505 (HTTP Version Not Supported), which will not
 * change on a retry; 408 and 429; timeouts; and the network errors a restart, a failover or a stale
 * keep-alive connection produce. Never retried: 400, 403 and every other 4xx, whose answer would be
 * the same.
 */

/** Network error codes after which the same request may well succeed. */
export const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  // How Node reports a server closing the socket before any answer ("socket hang up").
  'ECONNABORTED',
  'ERR_SOCKET_HANG_UP',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * Codes that prove the request never reached the server: the connection could not be made at all
 * (refused, no such host, DNS not answering, connect timeout).
 */
export const NEVER_REACHED_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Whether a transport error code proves the request never reached the server. */
export const neverReachedServer = (code: string): boolean => NEVER_REACHED_CODES.has(code);

/** Whether an HTTP status is worth another attempt. */
export function isRetryableStatus(status: number): boolean {
  if (status === 408 || status === 429) return true;
  return status >= 500 && status <= 599 && status !== 501 && status !== 505;
}

/** Whether a network error code is worth another attempt. */
export const isRetryableNetworkCode = (code: string): boolean => RETRYABLE_NETWORK_CODES.has(code);

/**
 * Milliseconds a `Retry-After` header asks for: delay-seconds (`120`) or an HTTP date. Undefined when
 * absent or unreadable; 0 for a date in the past.
 */
export function retryAfterMs(
  header: string | undefined,
  now: number = Date.now(),
): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // HTTP dates always name a weekday, month and GMT; Date.parse alone accepts far looser input.
  if (!/^[A-Za-z]{3},? .*\d{2}:\d{2}:\d{2} GMT$/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
