import { AddingToCart } from './adding-to-cart.notification.js';
import { Click } from './click.notification.js';
import { EndSession } from './end-session.notification.js';
import { NonEsalesAddingToCart } from './non-esales-adding-to-cart.notification.js';
import { NonEsalesClick } from './non-esales-click.notification.js';
import type { EsalesNotificationKindName, NotificationKind } from './notification-kind.js';
import { Payment } from './payment.notification.js';

/** @internal Every kind, by name. */
export const NOTIFICATION_KINDS: Readonly<Record<EsalesNotificationKindName, NotificationKind>> =
  Object.freeze({
    'non-esales-click': NonEsalesClick,
    click: Click,
    'adding-to-cart': AddingToCart,
    'non-esales-adding-to-cart': NonEsalesAddingToCart,
    payment: Payment,
    end: EndSession,
  });

/** @internal The kinds' names, in the documentation's order. */
export const NOTIFICATION_KIND_NAMES = Object.keys(
  NOTIFICATION_KINDS,
) as EsalesNotificationKindName[];

export { AddingToCart, Click, EndSession, NonEsalesAddingToCart, NonEsalesClick, Payment };
