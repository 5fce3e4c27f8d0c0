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
 * What the app passes to `sendAddingToCart` / `enqueueAddingToCart`: a visitor added a product
 * Elevate returned to the cart. Body: `market, customerKey, sessionKey, id, token, ticket`.
 */
export interface AddingToCartNotification extends EsalesIdentifiedFields, EsalesTicket {}

/** An adding-to-cart notification; usable with `ValidationPipe`. */
export class AddingToCartNotificationDto extends TicketNotificationDto {}

/** @internal `POST /api/v1/notifications/adding-to-cart`. */
export const AddingToCart: NotificationKind = Object.freeze({
  name: 'adding-to-cart',
  path: NOTIFICATION_PATHS.addingToCart,
  subject: 'adding-to-cart notification',
  dto: AddingToCartNotificationDto,
  hasId: true,
  fields: TICKET_FIELDS,
  retry: 'at-least-once',
  badRequestHint: 'ticket missing',
  accepts: acceptsTicket,
  wire: wireTicket,
});
