import {
  Inject,
  Module,
  RequestMethod,
  type MiddlewareConsumer,
  type NestModule,
} from '@nestjs/common';
import { EsalesBeaconMiddleware } from './beacon/esales-beacon.middleware.js';
import { CustomerKeyAuthenticationService } from './auth/customer-key-authentication.service.js';
import { EsalesVisitorCookiesService } from './click-tracking/esales-visitor-cookies.service.js';
import type { ResolvedEsalesOptions } from './config/resolve-esales-options.js';
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
 * injecting the services elsewhere needs `isGlobal`). With the `beacon` option it also serves the
 * beacon endpoint at `beacon.path`.
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
export class EsalesModule extends EsalesConfigurableModuleClass implements NestModule {
  constructor(@Inject(ESALES_RESOLVED_OPTIONS) private readonly options: ResolvedEsalesOptions) {
    super();
  }

  /**
   * Mounts the beacon endpoint when the options have a `beacon`. Decided here, from the injected
   * resolved options, rather than in `forRoot`: options from `forRootAsync` (`esalesConfig`, a
   * `ConfigService` factory) exist only once the app is being initialised, and Nest calls
   * `configure` after every provider, the options included, has been resolved. Middleware, not a
   * controller: a controller's path is fixed when its class is declared.
   */
  configure(consumer: MiddlewareConsumer): void {
    const beacon = this.options.beacon;
    if (!beacon) return;
    consumer
      .apply(EsalesBeaconMiddleware)
      .forRoutes({ path: beacon.path, method: RequestMethod.ALL });
  }
}
