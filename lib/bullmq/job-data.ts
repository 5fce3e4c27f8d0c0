import { createHash } from 'node:crypto';
import type { DeliveryTarget } from '../delivery/delivery-engine.js';
import type {
  EsalesNotificationKindName,
  PreparedNotification,
} from '../notifications/notification-kind.js';
import { NOTIFICATION_KINDS } from '../notifications/index.js';
import type { FailureReport } from './outcome-report.js';

/**
 * What a BullMQ job holds: the notification exactly as it is sent (its body, and so its token; a
 * payment's query, and so its payment token) and where to. Never the market's private key: a
 * payment is signed before it is queued. Version 1.
 */
export interface EsalesBullmqJobData {
  readonly v: 1;
  readonly kind: EsalesNotificationKindName;
  readonly market: string;
  readonly id: string;
  /** The JSON body exactly as sent; the worker reads the keys (to mask them) and token from it. */
  readonly body: string;
  /** `''`, or a payment's `?paymentToken=…`. */
  readonly query: string;
  /**
   * Whether the payment has a `dedupeKey` (its job id holds a hash of it). The key itself, the
   * app's order id, stays with the sender. Jobs of earlier releases hold the key as `dedupeKey`.
   */
  readonly dedupe?: true;
  /** @deprecated Written by earlier releases only: read, never written. */
  readonly dedupeKey?: string;
  readonly clusterUrl: string;
  readonly endpoint: string;
  /** Epoch milliseconds when the notification was queued: its delivery budget counts from here. */
  readonly createdAt: number;
  /** Set by the worker before a retry: the last failure (excerpted and scrubbed, no secret) … */
  readonly lastFailure?: FailureReport;
  /** … and whether any attempt so far may have reached Elevate. */
  readonly mayHaveArrived?: boolean;
  /**
   * HTTP attempts made so far, in any instance. Not BullMQ's `attemptsStarted`, which also counts
   * every pickup that only re-offered the job (engine full, lane wait capped) or was rate-limited.
   */
  readonly attemptsMade?: number;
}

/** Whether a job is a payment with a `dedupeKey` (this release's form, or an earlier one's). */
export const hasDedupeKey = (data: EsalesBullmqJobData): boolean =>
  data.dedupe === true || data.dedupeKey !== undefined;

/** What a job holds: the wire form only (keys, token and product are in the body already). */
export const jobDataOf = (
  notification: PreparedNotification,
  target: DeliveryTarget,
  createdAt: number,
): EsalesBullmqJobData => ({
  v: 1,
  kind: notification.kind,
  market: notification.market,
  id: notification.id,
  body: notification.body,
  query: notification.query,
  ...(notification.dedupeKey !== undefined ? { dedupe: true as const } : {}),
  clusterUrl: target.clusterUrl,
  endpoint: target.endpoint,
  createdAt,
});

const stringOr = (value: unknown, fallback: string): string =>
  typeof value === 'string' ? value : fallback;
const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * The notification a job holds, or undefined when the job is not one of ours (another version).
 * The keys, token and payment token are read back from the body and query they were sent in.
 */
export function preparedOf(data: unknown): PreparedNotification | undefined {
  const job = data as Partial<EsalesBullmqJobData> | null;
  if (job?.v !== 1 || typeof job.kind !== 'string' || !(job.kind in NOTIFICATION_KINDS)) {
    return undefined;
  }
  if (typeof job.body !== 'string') return undefined;
  let wire: Record<string, unknown>;
  try {
    wire = JSON.parse(job.body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const query = stringOr(job.query, '');
  const secrets: string[] = [];
  if (typeof wire['token'] === 'string') secrets.push(wire['token']);
  const paymentToken = new URLSearchParams(query.slice(1)).get('paymentToken');
  if (paymentToken) secrets.push(paymentToken);
  return {
    kind: job.kind,
    retry: NOTIFICATION_KINDS[job.kind].retry,
    market: stringOr(job.market, ''),
    id: stringOr(job.id, ''),
    body: job.body,
    query,
    secrets,
    customerKey: stringOr(wire['customerKey'], ''),
    sessionKey: stringOr(wire['sessionKey'], ''),
    productKey: stringOrNull(wire['productKey']),
    variantKey: stringOrNull(wire['variantKey']),
    ...(job.dedupeKey !== undefined ? { dedupeKey: job.dedupeKey } : {}),
  };
}

/** A job id BullMQ accepts: no `:`, not all digits, bounded. */
const PLAIN_ID = /^[A-Za-z0-9_-]{1,80}$/;
const digest = (text: string): string =>
  createHash('sha256').update(text).digest('base64url').slice(0, 32);

/**
 * The job id of a notification: its kind and id (hashed when the id holds characters BullMQ or
 * Redis keys should not see), and for a payment with a `dedupeKey` that key (hashed: it is the
 * app's order id). The same notification added twice is one job while the first is kept.
 */
export function jobIdOf(notification: PreparedNotification): string {
  if (notification.dedupeKey !== undefined) {
    return `${notification.kind}-d-${digest(notification.dedupeKey)}`;
  }
  const id = PLAIN_ID.test(notification.id) ? notification.id : `h-${digest(notification.id)}`;
  return `${notification.kind}-${id}`;
}
