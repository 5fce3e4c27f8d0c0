import { describe, expect, it } from '@jest/globals';
import type * as Main from '../../lib/index.js';
import type * as Testing from '../../lib/testing.js';

/*
 * What each entry point exports, pinned: a name that appears or disappears is an API change and must
 * show up in review (and the CHANGELOG), not slip out with a refactoring. Values are checked at run
 * time; the type-only exports are checked by the compiler through the imports above.
 */

/** Every type-only export of the main entry and of `nestjs-esales/testing`. */
export type PublicTypes = [
  Main.AddingToCartNotification,
  Main.ClickNotification,
  Main.EndSessionNotification,
  Main.EsalesBeaconOptions,
  Main.EsalesBeaconRateLimit,
  Main.EsalesBreakerState,
  Main.EsalesBullmqOptions,
  Main.EsalesClickTrackingOptions,
  Main.EsalesClickValueSource,
  Main.EsalesClusterStats,
  Main.EsalesCookieNames,
  Main.EsalesDeliveryBackend,
  Main.EsalesDeliveryBackendHealth,
  Main.EsalesDeliveryBackendStats,
  Main.EsalesDeliveryCompletion,
  Main.EsalesDeliveryContext,
  Main.EsalesDeliveryErrorContext,
  Main.EsalesDeliveryEvent,
  Main.EsalesDeliveryHooks,
  Main.EsalesDeliveryName,
  Main.EsalesDropReason,
  Main.EsalesEndedSession,
  Main.EsalesEnv,
  Main.EsalesEnvOptions,
  Main.EsalesErrorContext,
  Main.EsalesExtractedClick,
  Main.EsalesHttpRequest,
  Main.EsalesIdentifiedFields,
  Main.EsalesKindStats,
  Main.EsalesMarketOptions,
  Main.EsalesMarketTarget,
  Main.EsalesModuleExtras,
  Main.EsalesModuleOptions,
  Main.EsalesNotificationKindName,
  Main.EsalesOptionsFactory,
  Main.EsalesPaymentOptions,
  Main.EsalesProductKeys,
  Main.EsalesResolvedVisitor,
  Main.EsalesSkipReason,
  Main.EsalesStats,
  Main.EsalesTicket,
  Main.EsalesTrackingOptions,
  Main.EsalesTransport,
  Main.EsalesTransportName,
  Main.EsalesTransportRequest,
  Main.EsalesTransportResponse,
  Main.EsalesUndeliveredReason,
  Main.EsalesValidationProblem,
  Main.EsalesValueSource,
  Main.EsalesVisitor,
  Main.EsalesVisitorFields,
  Main.NonEsalesAddingToCartNotification,
  Main.NonEsalesClickNotification,
  Main.PaymentLine,
  Main.PaymentNotification,
  Main.TrackAddToCartOptions,
  Main.TrackClickOptions,
  Main.TrackNonEsalesClickOptions,
  Main.UndiciEsalesTransportOptions,
  Testing.ElevateStandInOptions,
  Testing.StandInAnswer,
  Testing.StandInKind,
  Testing.StandInRequest,
  Testing.StandInResponder,
];

const VALUES: Record<string, readonly string[]> = {
  index: [
    'AddingToCartNotificationDto',
    'ClickNotificationDto',
    'CustomerKeyAuthentication',
    'CustomerKeyAuthenticationService',
    'DEFAULT_COOKIE_NAMES',
    'ESALES_ASYNC_OPTIONS_TYPE',
    'ESALES_ENV_VARIABLES',
    'ESALES_MODULE_OPTIONS',
    'ESALES_OPTIONS_TYPE',
    'ESALES_RESOLVED_OPTIONS',
    'EndSessionNotificationDto',
    'EsalesArgumentError',
    'EsalesBadRequestError',
    'EsalesClickInterceptor',
    'EsalesConfigError',
    'EsalesCustomerKeyRejectedError',
    'EsalesDeliveryError',
    'EsalesError',
    'EsalesModule',
    'EsalesNetworkError',
    'EsalesNotificationService',
    'EsalesServerError',
    'EsalesTimeoutError',
    'EsalesTransportFailure',
    'EsalesUndeliveredError',
    'EsalesUnknownMarketError',
    'EsalesValidationError',
    'EsalesVisitorCookiesService',
    'IdentifiedNotificationDto',
    'MAX_PAYMENT_LINES',
    'MessageAuthentication',
    'NOTIFICATION_PATHS',
    'NonEsalesAddingToCartNotificationDto',
    'NonEsalesClickNotificationDto',
    'PaymentLineDto',
    'PaymentNotificationDto',
    'ResolvedEsalesOptions',
    'TrackAddToCart',
    'TrackClick',
    'TrackNonEsalesClick',
    'UndiciEsalesTransport',
    'VisitorNotificationDto',
    'clusterUrlForId',
    'esalesOptionsFromEnv',
    'marketEnvKey',
    'resolveEsalesOptions',
  ],
  config: ['esalesConfig'],
  testing: ['ElevateStandIn'],
  terminus: ['EsalesHealthIndicator'],
  axios: ['AxiosEsalesTransport', 'createAxiosTransport'],
  bullmq: ['BullmqDeliveryBackend', 'jobIdOf'],
  opentelemetry: [
    'BREAKER_STATE_VALUES',
    'ESALES_ATTRIBUTES',
    'ESALES_METRICS',
    'EsalesTelemetry',
    'errorTypeOf',
  ],
};

describe('the public API', () => {
  it.each(Object.entries(VALUES))('entry %s exports exactly these values', async (entry, names) => {
    const module = (await import(`../../lib/${entry}.js`)) as Record<string, unknown>;
    expect(Object.keys(module).sort()).toEqual([...names].sort());
  });

  it('keeps the internals internal: no pipeline, engine, kind definitions or prepare step', async () => {
    const module = (await import('../../lib/index.js')) as Record<string, unknown>;
    for (const internal of [
      'NotificationPipeline',
      'DeliveryEngine',
      'NOTIFICATION_KINDS',
      'Payment',
      'NonEsalesClick',
      'prepareNotification',
    ]) {
      expect(module).not.toHaveProperty(internal);
    }
  });

  it('lists the six v1 endpoints in NOTIFICATION_PATHS', async () => {
    const { NOTIFICATION_PATHS } = await import('../../lib/index.js');
    expect(NOTIFICATION_PATHS).toEqual({
      nonEsalesClick: '/api/v1/notifications/non-esales-click',
      click: '/api/v1/notifications/click',
      addingToCart: '/api/v1/notifications/adding-to-cart',
      nonEsalesAddingToCart: '/api/v1/notifications/non-esales-adding-to-cart',
      payment: '/api/v1/notifications/payment',
      endSession: '/api/v1/notifications/end',
    });
  });
});

describe('package-info', () => {
  it('names the package and version package.json has (the meter is named after them)', async () => {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      name: string;
      version: string;
    };
    const { PACKAGE_NAME, PACKAGE_VERSION } = await import('../../lib/package-info.js');
    expect({ name: PACKAGE_NAME, version: PACKAGE_VERSION }).toEqual({
      name: pkg.name,
      version: pkg.version,
    });
  });
});
