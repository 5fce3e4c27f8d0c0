import type { EsalesNotificationKindName } from '../notifications/notification-kind-name.js';

/** Context carried by every nestjs-esales error; fields are absent when they do not apply. */
export interface EsalesErrorContext {
  /** HTTP status Elevate answered with, when it answered. */
  readonly status?: number;
  /** Market the notification was for. */
  readonly market?: string;
  /** Full URL of the Elevate endpoint the notification was for. */
  readonly endpoint?: string;
  /** The notification's `id`, the same on every attempt. */
  readonly notificationId?: string;
  /** The kind of notification: its endpoint's name (`click`, `payment`, …). */
  readonly kind?: EsalesNotificationKindName;
}

/**
 * Base class of every error nestjs-esales throws or rejects with, so callers can catch the whole family
 * with one `instanceof EsalesError`.
 */
export class EsalesError extends Error {
  /** HTTP status Elevate answered with, when it answered. */
  readonly status?: number;
  /** Market the notification was for, when known. */
  readonly market?: string;
  /** Full URL of the Elevate endpoint, when known. */
  readonly endpoint?: string;
  /** The notification's `id`, when known. */
  readonly notificationId?: string;
  /** The kind of notification (its endpoint's name: `click`, `payment`, …), when known. */
  readonly kind?: EsalesNotificationKindName;

  constructor(message: string, context: EsalesErrorContext = {}) {
    super(message);
    // `new.target` keeps the subclass name without every subclass repeating it.
    this.name = new.target.name;
    if (context.status !== undefined) this.status = context.status;
    if (context.market !== undefined) this.market = context.market;
    if (context.endpoint !== undefined) this.endpoint = context.endpoint;
    if (context.notificationId !== undefined) this.notificationId = context.notificationId;
    if (context.kind !== undefined) this.kind = context.kind;
  }
}

/** Context every delivery error has: the notification got as far as being addressed to a cluster. */
export interface EsalesDeliveryErrorContext extends EsalesErrorContext {
  readonly market: string;
  /** The endpoint's URL, never with its query string (a payment's token is a secret). */
  readonly endpoint: string;
  readonly notificationId: string;
  readonly kind: EsalesNotificationKindName;
  /** A sentence appended to the message (why a payment was not retried). */
  readonly note?: string;
}

/** Base class of the errors raised while delivering a valid notification to Elevate. */
export abstract class EsalesDeliveryError extends EsalesError {
  declare readonly market: string;
  declare readonly endpoint: string;
  declare readonly notificationId: string;
  declare readonly kind: EsalesNotificationKindName;

  constructor(message: string, context: EsalesDeliveryErrorContext) {
    const { note, ...rest } = context;
    super(note ? `${message}. ${note}` : message, rest);
  }
}
