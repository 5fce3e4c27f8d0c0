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
 * What the app passes to `sendNonEsalesClick` / `enqueueNonEsalesClick`: a visitor clicked a
 * product Elevate did not return (no ticket). Body: `market, customerKey, sessionKey, id, token,
 * productKey, variantKey`.
 */
export interface NonEsalesClickNotification extends EsalesIdentifiedFields, EsalesProductKeys {}

/**
 * A non-eSales click notification. Usable with Nest's `ValidationPipe`; `EsalesNotificationService`
 * validates against it too, so a malformed notification never reaches Elevate. Messages never echo
 * the offending value.
 */
export class NonEsalesClickNotificationDto extends ProductKeyedNotificationDto {}

/** @internal `POST /api/v1/notifications/non-esales-click`. */
export const NonEsalesClick: NotificationKind = Object.freeze({
  name: 'non-esales-click',
  path: NOTIFICATION_PATHS.nonEsalesClick,
  subject: 'non-eSales click notification',
  dto: NonEsalesClickNotificationDto,
  hasId: true,
  fields: PRODUCT_KEY_FIELDS,
  retry: 'at-least-once',
  badRequestHint: 'product key missing',
  accepts: acceptsProductKeys,
  wire: wireProductKeys,
});
