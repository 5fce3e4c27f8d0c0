import { Module } from '@nestjs/common';
import { CustomerKeyAuthenticationService } from './auth/customer-key-authentication.service.js';
import { EsalesVisitorCookiesService } from './click-tracking/esales-visitor-cookies.service.js';
import { ESALES_RESOLVED_OPTIONS } from './esales.constants.js';
import { EsalesConfigurableModuleClass } from './esales.module-definition.js';
import { EsalesNotificationService } from './esales-notification.service.js';
import {
  deliveryBackendProvider,
  resolvedOptionsProvider,
  telemetryProvider,
  transportProvider,
} from './esales.providers.js';
import { NotificationPipeline } from './notification-pipeline.js';

/**
 * Sends Voyado Elevate 3 notifications from a Nest app. Register once with `EsalesModule.forRoot()`
 * or `EsalesModule.forRootAsync()`; inject `EsalesNotificationService`,
 * `CustomerKeyAuthenticationService` and `EsalesVisitorCookiesService`, and mark redirect and cart
 * routes with `@TrackClick()`, `@TrackAddToCart()` or `@TrackNonEsalesClick()` (in any module;
 * injecting the services elsewhere needs `isGlobal`).
 */
@Module({
  // No HttpModule import: `transport: 'axios'` builds an HttpService of its own, and an app's
  // `forRootAsync({ inject: [HttpService] })` must get the app's HttpService, not a module-private one.
  providers: [
    resolvedOptionsProvider,
    transportProvider,
    deliveryBackendProvider,
    telemetryProvider,
    NotificationPipeline,
    EsalesNotificationService,
    CustomerKeyAuthenticationService,
    EsalesVisitorCookiesService,
  ],
  exports: [
    // Internal (not exported from the package): what the tracking interceptor uses.
    NotificationPipeline,
    EsalesNotificationService,
    CustomerKeyAuthenticationService,
    EsalesVisitorCookiesService,
    ESALES_RESOLVED_OPTIONS,
  ],
})
export class EsalesModule extends EsalesConfigurableModuleClass {}
