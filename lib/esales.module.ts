import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { CustomerKeyAuthenticationService } from './auth/customer-key-authentication.service.js';
import { EsalesVisitorCookiesService } from './click-tracking/esales-visitor-cookies.service.js';
import { ESALES_RESOLVED_OPTIONS } from './esales.constants.js';
import { EsalesConfigurableModuleClass } from './esales.module-definition.js';
import { EsalesNotificationService } from './esales-notification.service.js';
import { resolvedOptionsProvider, transportProvider } from './esales.providers.js';
import { AxiosEsalesTransport } from './transport/axios.transport.js';

/**
 * Sends Voyado Elevate 3 notifications from a Nest app. Register once with `EsalesModule.forRoot()`
 * or `EsalesModule.forRootAsync()`; inject `EsalesNotificationService`,
 * `CustomerKeyAuthenticationService` and `EsalesVisitorCookiesService`, and mark redirect routes with
 * `@TrackNonEsalesClick()` (in a module that imports this one, or with `isGlobal`).
 */
@Module({
  // A factory gives each app its own axios instance, untouched by the app's own HttpModule setup.
  imports: [HttpModule.registerAsync({ useFactory: () => ({}) })],
  providers: [
    resolvedOptionsProvider,
    AxiosEsalesTransport,
    transportProvider,
    EsalesNotificationService,
    CustomerKeyAuthenticationService,
    EsalesVisitorCookiesService,
  ],
  exports: [
    EsalesNotificationService,
    CustomerKeyAuthenticationService,
    EsalesVisitorCookiesService,
    ESALES_RESOLVED_OPTIONS,
  ],
})
export class EsalesModule extends EsalesConfigurableModuleClass {}
