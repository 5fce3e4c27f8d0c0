import type { NotificationKind } from '../notifications/notification-kind.js';
import type { EsalesTrackingOptions } from './click-tracking-options.interface.js';

/** Metadata key of the tracking decorators' `TrackingMetadata`. */
export const ESALES_TRACK_CLICK = 'nestjs-esales:track';

/** @internal What a tracking decorator puts on a route. */
export interface TrackingMetadata {
  /** The decorator's name, for messages: `@TrackClick`. */
  readonly decorator: string;
  /** Sent when the request carries a ticket. */
  readonly withTicket: NotificationKind | undefined;
  /** Sent otherwise, from the product and variant keys. */
  readonly withoutTicket: NotificationKind | undefined;
  /** Where each value comes from. */
  readonly sources: Readonly<EsalesTrackingOptions>;
}

/**
 * Marks a request whose click an interceptor has taken on, so the decorator's interceptor and a
 * globally registered one never both send. A registry symbol: it must match across package copies.
 */
export const ESALES_CLICK_CLAIMED: unique symbol = Symbol.for('nestjs-esales.click-claimed');
