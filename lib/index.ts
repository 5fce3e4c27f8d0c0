export { EsalesModule } from './esales.module.js';
export type { EsalesModuleExtras } from './esales.module-definition.js';
export {
  ESALES_MODULE_OPTIONS,
  ESALES_OPTIONS_TYPE,
  ESALES_ASYNC_OPTIONS_TYPE,
} from './esales.module-definition.js';
export {
  ESALES_RESOLVED_OPTIONS,
  NOTIFICATION_PATHS,
  clusterUrlForId,
} from './esales.constants.js';
export { EsalesNotificationService } from './esales-notification.service.js';

export {
  TrackClick,
  TrackAddToCart,
  TrackNonEsalesClick,
} from './click-tracking/tracking.decorators.js';
export { EsalesClickInterceptor } from './click-tracking/esales-click.interceptor.js';
export type {
  EsalesExtractedClick,
  EsalesResolvedVisitor,
} from './click-tracking/esales-click.interceptor.js';
export { EsalesVisitorCookiesService } from './click-tracking/esales-visitor-cookies.service.js';
export type { EsalesEndedSession } from './click-tracking/esales-visitor-cookies.service.js';
export { DEFAULT_COOKIE_NAMES } from './click-tracking/visitor-cookies.js';
export type {
  TrackNonEsalesClickOptions,
  TrackClickOptions,
  TrackAddToCartOptions,
  EsalesTrackingOptions,
  EsalesValueSource,
  EsalesClickValueSource,
  EsalesClickTrackingOptions,
  EsalesCookieNames,
  EsalesHttpRequest,
  EsalesVisitor,
} from './click-tracking/click-tracking-options.interface.js';

export type {
  EsalesModuleOptions,
  EsalesMarketOptions,
  EsalesOptionsFactory,
  EsalesTransportName,
  EsalesBullmqOptions,
  EsalesDeliveryName,
  EsalesBeaconOptions,
  EsalesBeaconRateLimit,
} from './config/esales-options.interface.js';
export { esalesOptionsFromEnv, ESALES_ENV_VARIABLES } from './config/esales-options-from-env.js';
export type { EsalesEnv, EsalesEnvOptions } from './config/esales-options-from-env.js';
export { marketEnvKey } from './config/esales-env.js';
export { resolveEsalesOptions, ResolvedEsalesOptions } from './config/resolve-esales-options.js';
export type { EsalesMarketTarget } from './config/resolve-esales-options.js';

export type { EsalesNotificationKindName } from './notifications/notification-kind.js';
export type {
  EsalesVisitorFields,
  EsalesIdentifiedFields,
} from './notifications/visitor-fields.interface.js';
export type { EsalesProductKeys, EsalesTicket } from './notifications/keyed-notifications.js';
export {
  VisitorNotificationDto,
  IdentifiedNotificationDto,
} from './notifications/visitor-notification.dto.js';
export { NonEsalesClickNotificationDto } from './notifications/non-esales-click.notification.js';
export type { NonEsalesClickNotification } from './notifications/non-esales-click.notification.js';
export { ClickNotificationDto } from './notifications/click.notification.js';
export type { ClickNotification } from './notifications/click.notification.js';
export { AddingToCartNotificationDto } from './notifications/adding-to-cart.notification.js';
export type { AddingToCartNotification } from './notifications/adding-to-cart.notification.js';
export { NonEsalesAddingToCartNotificationDto } from './notifications/non-esales-adding-to-cart.notification.js';
export type { NonEsalesAddingToCartNotification } from './notifications/non-esales-adding-to-cart.notification.js';
export {
  PaymentNotificationDto,
  PaymentLineDto,
  MAX_PAYMENT_LINES,
} from './notifications/payment.notification.js';
export type { PaymentNotification, PaymentLine } from './notifications/payment.notification.js';
export { EndSessionNotificationDto } from './notifications/end-session.notification.js';
export type { EndSessionNotification } from './notifications/end-session.notification.js';
export type { EsalesPaymentOptions } from './notification-pipeline.js';

export { MessageAuthentication } from './auth/message-authentication.js';
export { CustomerKeyAuthentication } from './auth/customer-key-authentication.js';
export { CustomerKeyAuthenticationService } from './auth/customer-key-authentication.service.js';

export { EsalesError, EsalesDeliveryError } from './errors/esales.error.js';
export type { EsalesErrorContext, EsalesDeliveryErrorContext } from './errors/esales.error.js';
export { EsalesArgumentError } from './errors/esales-argument.error.js';
export { EsalesConfigError } from './errors/esales-config.error.js';
export { EsalesValidationError } from './errors/esales-validation.error.js';
export type { EsalesValidationProblem } from './errors/esales-validation.error.js';
export { EsalesUnknownMarketError } from './errors/esales-unknown-market.error.js';
export { EsalesBadRequestError } from './errors/esales-bad-request.error.js';
export { EsalesCustomerKeyRejectedError } from './errors/esales-customer-key-rejected.error.js';
export { EsalesServerError } from './errors/esales-server.error.js';
export { EsalesTimeoutError } from './errors/esales-timeout.error.js';
export { EsalesNetworkError } from './errors/esales-network.error.js';
export { EsalesUndeliveredError } from './errors/esales-undelivered.error.js';
export type { EsalesUndeliveredReason } from './errors/esales-undelivered.error.js';

export type {
  EsalesStats,
  EsalesKindStats,
  EsalesClusterStats,
  EsalesSkipReason,
  EsalesBreakerState,
} from './delivery/esales-stats.interface.js';
export type {
  EsalesDeliveryBackend,
  EsalesDeliveryContext,
  EsalesDeliveryCompletion,
  EsalesDeliveryBackendStats,
  EsalesDeliveryBackendHealth,
} from './delivery/esales-delivery-backend.interface.js';
export type {
  EsalesDeliveryHooks,
  EsalesDeliveryEvent,
  EsalesDropReason,
} from './delivery/esales-delivery-hooks.interface.js';

export type {
  EsalesTransport,
  EsalesTransportRequest,
  EsalesTransportResponse,
} from './transport/esales-transport.interface.js';
export { EsalesTransportFailure } from './transport/esales-transport.interface.js';
export { UndiciEsalesTransport } from './transport/undici.transport.js';
export type { UndiciEsalesTransportOptions } from './transport/undici.transport.js';
