/**
 * Human-readable messages for the error family, kept in one place so wording stays consistent. Every
 * value that came from a request or the cluster goes through `quote` or `sanitise`: one line, no
 * control or format characters, unambiguously delimited.
 */
import { quote } from '../common/sanitize.js';

const describe = (endpointName: string, notificationId: string, market: string): string =>
  `${endpointName} notification ${quote(notificationId, 256)} (market ${quote(market)})`;

export const configErrorMessage = (problems: readonly string[]): string =>
  `Invalid nestjs-esales configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
  problems.map((problem) => `  - ${problem}`).join('\n');

export const validationErrorMessage = (subject: string, problems: readonly string[]): string =>
  `Invalid ${subject}: ${problems.join('; ')}`;

export const unknownMarketMessage = (market: string, known: readonly string[]): string =>
  `Market ${quote(market)} is not one of the configured markets (${known.map((m) => quote(m)).join(', ')})`;

export const badRequestMessage = (
  name: string,
  id: string,
  market: string,
  excerpt: string,
  hint = 'product key missing',
): string =>
  `Elevate rejected ${describe(name, id, market)} with 400 Bad Request` +
  (excerpt ? `: ${excerpt}` : ` (${hint})`);

export const customerKeyRejectedMessage = (name: string, id: string, market: string): string =>
  `Elevate rejected ${describe(name, id, market)} with 403 Forbidden: the SHA-256 customer key ` +
  "could not be validated (token missing or not made with this cluster's private key)";

/** A non-2xx status other than 400 and 403; 5xx ones are called server errors. */
export const statusErrorMessage = (
  name: string,
  id: string,
  market: string,
  status: number,
  excerpt: string,
): string =>
  `Elevate answered ${status}${status >= 500 ? ' (server error)' : ''} to ` +
  `${describe(name, id, market)}` +
  (excerpt ? `: ${excerpt}` : '');

export const timeoutMessage = (
  name: string,
  id: string,
  market: string,
  timeoutMs: number,
): string => `No answer from Elevate within ${timeoutMs} ms for ${describe(name, id, market)}`;

export const networkErrorMessage = (
  name: string,
  id: string,
  market: string,
  code: string,
): string => `Could not reach Elevate for ${describe(name, id, market)}: ${code}`;

export const emptyArgumentMessage = (what: string, argument: string): string =>
  `${what}: ${argument} must be a non-empty string`;

export const missingPrivateKeyMessage = (market: string): string =>
  `no private key is configured for market ${quote(market)}: set privateKey (ESALES_PRIVATE_KEY) or ` +
  `markets[${quote(market)}].privateKey (ESALES_MARKET_<M>_PRIVATE_KEY)`;

const UNDELIVERED_REASONS = {
  'queue-full': 'the delivery queue was full (maxQueueSize)',
  expired: 'its delivery budget ran out (deliveryTimeoutMs)',
  shutdown: 'the app shut down before it could be delivered (shutdownTimeoutMs)',
  stalled:
    'its worker stopped while it was in flight, and a payment is not sent again (BullMQ stall check)',
  lost: 'its outcome never arrived from the BullMQ queue (the job was removed, or its events were lost)',
} as const;

export const undeliveredMessage = (
  name: string,
  id: string,
  market: string,
  reason: keyof typeof UNDELIVERED_REASONS,
  attempts: number,
  budgetMs?: number,
): string =>
  `Gave up on ${describe(name, id, market)}: ${UNDELIVERED_REASONS[reason]}` +
  (budgetMs !== undefined ? ` of ${budgetMs} ms` : '') +
  ` after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
