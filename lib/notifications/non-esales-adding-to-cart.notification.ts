import { NOTIFICATION_PATHS } from '../esales.constants.js';
import {
  PRODUCT_KEY_FIELDS,
  ProductKeyedNotificationDto,
  acceptsProductKeys,
  wireProductKeys,
  type EsalesProductKeys,
} from './keyed-notifications.js';
import type { NotificationKind } from './notification-kind.js';
import type { EsalesIdentifiedFields } from './visitor-fields.interface.js';

/**
 * What the app passes to `sendNonEsalesAddingToCart` / `enqueueNonEsalesAddingToCart`: a visitor
 * added a product Elevate did not return to the cart. Body: `market, customerKey, sessionKey, id,
 * token, productKey, variantKey` (a variant alone goes with `productKey: null`).
 */
export interface NonEsalesAddingToCartNotification
  extends EsalesIdentifiedFields, EsalesProductKeys {}

/** A non-eSales adding-to-cart notification; usable with `ValidationPipe`. */
export class NonEsalesAddingToCartNotificationDto extends ProductKeyedNotificationDto {}

/** @internal `POST /api/v1/notifications/non-esales-adding-to-cart`. */
export const NonEsalesAddingToCart: NotificationKind = Object.freeze({
  name: 'non-esales-adding-to-cart',
  path: NOTIFICATION_PATHS.nonEsalesAddingToCart,
  subject: 'non-eSales adding-to-cart notification',
  dto: NonEsalesAddingToCartNotificationDto,
  hasId: true,
  fields: PRODUCT_KEY_FIELDS,
  retry: 'at-least-once',
  badRequestHint: 'product key missing',
  accepts: acceptsProductKeys,
  wire: wireProductKeys,
});
