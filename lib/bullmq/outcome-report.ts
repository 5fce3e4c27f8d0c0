import { errorContextOf, failureOfAnswer, failureOfTransport } from '../delivery/attempt.js';
import type { AttemptFailure } from '../delivery/attempt.js';
import type { DeliveryOutcome } from '../delivery/delivery-observer.js';
import type { EsalesDeliveryError } from '../errors/esales.error.js';
import { EsalesNetworkError } from '../errors/esales-network.error.js';
import { EsalesServerError } from '../errors/esales-server.error.js';
import { EsalesTimeoutError } from '../errors/esales-timeout.error.js';
import { EsalesBadRequestError } from '../errors/esales-bad-request.error.js';
import { EsalesCustomerKeyRejectedError } from '../errors/esales-customer-key-rejected.error.js';
import {
  EsalesUndeliveredError,
  type EsalesUndeliveredReason,
} from '../errors/esales-undelivered.error.js';
import type { PreparedNotification } from '../notifications/notification-kind.js';
import { EsalesTransportFailure } from '../transport/esales-transport.interface.js';

/**
 * The last attempt's failure, in a form that survives JSON: enough for the instance that called
 * `send…()` to rebuild the same typed error. Cluster text in it is already excerpted, scrubbed and
 * sanitised; no token, no key.
 */
export type FailureReport =
  | {
      readonly type: 'answer';
      readonly status: number;
      readonly excerpt: string;
      readonly retryAfter?: string;
    }
  | {
      readonly type: 'transport';
      readonly kind: 'timeout' | 'network';
      readonly code: string;
      readonly requestSent?: boolean;
      readonly timeoutMs: number;
    };

/** A job's return value: the notification's one final outcome, as the worker that did it saw it. */
export interface OutcomeReport {
  readonly outcome: Exclude<DeliveryOutcome, 'dropped'>;
  readonly attempts: number;
  readonly mayHaveArrived: boolean;
  /** For `rejected` and `failed`: the last failure. For `expired`: the last failure, if any. */
  readonly failure?: FailureReport;
}

/** The report of `failure`, from the error it carries. */
export function failureReportOf(failure: AttemptFailure, timeoutMs: number): FailureReport {
  const error = failure.error;
  if (error instanceof EsalesTimeoutError) {
    return {
      type: 'transport',
      kind: 'timeout',
      code: 'TIMEOUT',
      timeoutMs,
      requestSent: !failure.notReceived,
    };
  }
  if (error instanceof EsalesNetworkError) {
    return {
      type: 'transport',
      kind: 'network',
      code: error.code,
      timeoutMs,
      requestSent: !failure.notReceived,
    };
  }
  const excerpt =
    error instanceof EsalesServerError || error instanceof EsalesBadRequestError
      ? error.bodyExcerpt
      : '';
  const retryAfter = error instanceof EsalesServerError ? error.retryAfter : undefined;
  return {
    type: 'answer',
    status: error instanceof EsalesCustomerKeyRejectedError ? 403 : (error.status ?? 500),
    excerpt,
    ...(retryAfter !== undefined ? { retryAfter } : {}),
  };
}

/** The typed error `report` stands for, as the same failure would have raised it here. */
export function errorOfFailure(
  report: FailureReport,
  notification: PreparedNotification,
  endpoint: string,
): EsalesDeliveryError {
  const context = errorContextOf(notification, endpoint);
  if (report.type === 'transport') {
    const failure = new EsalesTransportFailure(report.kind, report.code, report.requestSent);
    return failureOfTransport(failure, report.timeoutMs, notification, context).error;
  }
  const answer = {
    status: report.status,
    body: report.excerpt,
    ...(report.retryAfter !== undefined ? { retryAfter: report.retryAfter } : {}),
  };
  return failureOfAnswer(answer, notification, context).error;
}

/** What `send…()` is rejected with for a report that is not `sent`. */
export function errorOfReport(
  report: OutcomeReport,
  notification: PreparedNotification,
  endpoint: string,
  budgetMs: number,
): EsalesDeliveryError | undefined {
  if (report.outcome === 'sent') return undefined;
  const cause = report.failure ? errorOfFailure(report.failure, notification, endpoint) : undefined;
  if (report.outcome !== 'expired' && cause) return cause;
  return undeliveredError(notification, endpoint, 'expired', report.attempts, {
    budgetMs,
    ...(cause ? { cause } : {}),
  });
}

export const undeliveredError = (
  notification: PreparedNotification,
  endpoint: string,
  reason: EsalesUndeliveredReason,
  attempts: number,
  options: { budgetMs?: number; cause?: unknown } = {},
): EsalesUndeliveredError =>
  new EsalesUndeliveredError(
    notification.kind,
    reason,
    attempts,
    errorContextOf(notification, endpoint),
    options,
  );

/** Whether `value` looks like an `OutcomeReport` (a job's return value comes from Redis). */
export function isOutcomeReport(value: unknown): value is OutcomeReport {
  const report = value as Partial<OutcomeReport> | null;
  return (
    typeof report === 'object' &&
    report !== null &&
    (report.outcome === 'sent' ||
      report.outcome === 'rejected' ||
      report.outcome === 'failed' ||
      report.outcome === 'expired') &&
    typeof report.attempts === 'number'
  );
}
