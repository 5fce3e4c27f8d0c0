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
  readonly body: string;
  readonly query: string;
  readonly secrets: readonly string[];
  readonly customerKey: string;
  readonly sessionKey: string;
  readonly productKey: string | null;
  readonly variantKey: string | null;
  readonly dedupeKey?: string;
  readonly clusterUrl: string;
  readonly endpoint: string;
  /** Epoch milliseconds when the notification was queued: its delivery budget counts from here. */
  readonly createdAt: number;
  /** Set by the worker before a retry: the last failure (sanitised, no secret) … */
  readonly lastFailure?: FailureReport;
  /** … and whether any attempt so far may have reached Elevate. */
  readonly mayHaveArrived?: boolean;
}

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
  secrets: notification.secrets,
  customerKey: notification.customerKey,
  sessionKey: notification.sessionKey,
  productKey: notification.productKey,
  variantKey: notification.variantKey,
  ...(notification.dedupeKey !== undefined ? { dedupeKey: notification.dedupeKey } : {}),
  clusterUrl: target.clusterUrl,
  endpoint: target.endpoint,
  createdAt,
});

/** The notification a job holds, or undefined when the job is not one of ours (another version). */
export function preparedOf(data: unknown): PreparedNotification | undefined {
  const job = data as Partial<EsalesBullmqJobData> | null;
  if (job?.v !== 1 || typeof job.kind !== 'string' || !(job.kind in NOTIFICATION_KINDS)) {
    return undefined;
  }
  const kind = NOTIFICATION_KINDS[job.kind];
  return {
    kind: job.kind,
    retry: kind.retry,
    market: String(job.market),
    id: String(job.id),
    body: String(job.body),
    query: String(job.query ?? ''),
    secrets: Array.isArray(job.secrets) ? job.secrets.map(String) : [],
    customerKey: String(job.customerKey ?? ''),
    sessionKey: String(job.sessionKey ?? ''),
    productKey: job.productKey ?? null,
    variantKey: job.variantKey ?? null,
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
