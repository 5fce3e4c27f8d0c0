import { NOTIFICATION_PATHS } from '../esales.constants.js';
import type { NotificationKind } from './notification-kind.js';
import type { EsalesVisitorFields } from './visitor-fields.interface.js';
import { VisitorNotificationDto } from './visitor-notification.dto.js';

/**
 * What the app passes to `sendEndSession` / `enqueueEndSession`: the visitor's session ended
 * (sign-out). Body: `market, customerKey, sessionKey, token`, no `id`.
 */
export type EndSessionNotification = EsalesVisitorFields;

/** An end-of-session notification; usable with `ValidationPipe`. */
export class EndSessionNotificationDto extends VisitorNotificationDto {}

/** @internal `POST /api/v1/notifications/end` (not `end-session`). */
export const EndSession: NotificationKind = Object.freeze({
  name: 'end',
  path: NOTIFICATION_PATHS.endSession,
  subject: 'end-of-session notification',
  dto: EndSessionNotificationDto,
  hasId: false,
  fields: [],
  // No id, but ending a session that has ended changes nothing: retried like the others.
  retry: 'at-least-once',
  badRequestHint: 'no reason given',
  accepts: () => true,
  wire: () => ({}),
});
