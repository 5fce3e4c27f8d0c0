import { NOTIFICATION_PATHS } from '../esales.constants.js';
import {
  TICKET_FIELDS,
  TicketNotificationDto,
  acceptsTicket,
  wireTicket,
  type EsalesTicket,
} from './keyed-notifications.js';
import type { NotificationKind } from './notification-kind.js';
import type { EsalesIdentifiedFields } from './visitor-fields.interface.js';

/**
 * What the app passes to `sendClick` / `enqueueClick`: a visitor clicked a product (or ad) Elevate
 * returned, identified by its ticket. Body: `market, customerKey, sessionKey, id, token, ticket`
 * (inferred from adding-to-cart: the v1 click page is not in the public documentation).
 */
export interface ClickNotification extends EsalesIdentifiedFields, EsalesTicket {}

/** A click notification; usable with `ValidationPipe`. */
export class ClickNotificationDto extends TicketNotificationDto {}

/** @internal `POST /api/v1/notifications/click`. */
export const Click: NotificationKind = Object.freeze({
  name: 'click',
  path: NOTIFICATION_PATHS.click,
  subject: 'click notification',
  dto: ClickNotificationDto,
  hasId: true,
  fields: TICKET_FIELDS,
  retry: 'at-least-once',
  badRequestHint: 'ticket missing',
  accepts: acceptsTicket,
  wire: wireTicket,
});
