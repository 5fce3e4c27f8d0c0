import type { Provider } from '@nestjs/common';
import type { EsalesModuleOptions } from './config/esales-options.interface.js';
import {
  resolveEsalesOptions,
  type ResolvedBullmqSettings,
  type ResolvedEsalesOptions,
} from './config/resolve-esales-options.js';
import { maxInFlightOf } from './delivery/delivery-settings.interface.js';
import type { EsalesDeliveryBackend } from './delivery/esales-delivery-backend.interface.js';
import {
  ESALES_DELIVERY_BACKEND,
  ESALES_RESOLVED_OPTIONS,
  ESALES_TELEMETRY,
  ESALES_TRANSPORT,
} from './esales.constants.js';
import type { TelemetryHooks } from './delivery/telemetry.interface.js';
import { EsalesConfigError } from './errors/esales-config.error.js';
// Types only: erased, so the main entry point still never loads axios.
import type * as AxiosEntryModule from './axios.js';

type AxiosEntry = typeof AxiosEntryModule;

/** What `nestjs-esales/bullmq` provides here; not its module type, which reaches bullmq's types. */
interface BullmqEntry {
  readonly BullmqDeliveryBackend: new (settings: ResolvedBullmqSettings) => EsalesDeliveryBackend;
}
import { ESALES_MODULE_OPTIONS } from './esales.module-definition.js';
import type { EsalesTransport } from './transport/esales-transport.interface.js';
import { UndiciEsalesTransport } from './transport/undici.transport.js';

/**
 * Derived provider: validates the raw options once, at boot, and hands the rest of the package a
 * `ResolvedEsalesOptions`. Invalid options throw `EsalesConfigError` here and stop the app.
 */
export const resolvedOptionsProvider: Provider = {
  provide: ESALES_RESOLVED_OPTIONS,
  useFactory: (options: EsalesModuleOptions) => resolveEsalesOptions(options),
  inject: [ESALES_MODULE_OPTIONS],
};

/**
 * The transport behind the service, as the `transport` option chooses: the app's own object, or a
 * built-in one made for this app only (`'axios'` on an axios instance of its own, untouched by the
 * app's HttpModule setup). The service closes it after its shutdown drain.
 *
 * `'axios'` loads `nestjs-esales/axios` at boot (an async factory), so the main entry point never
 * loads `@nestjs/axios` or `axios`, optional peers an undici app does not install.
 */
export const transportProvider: Provider = {
  provide: ESALES_TRANSPORT,
  useFactory: async (options: ResolvedEsalesOptions): Promise<EsalesTransport> => {
    if (typeof options.transport === 'object') return options.transport;
    // HTTP/1.1 carries one request per connection: the pool is as large as the limit can grow.
    const pool = maxInFlightOf(options.delivery.concurrency);
    if (options.transport !== 'axios') return new UndiciEsalesTransport({ connections: pool });
    const { createAxiosTransport } = await loadAxiosEntry();
    return createAxiosTransport({ maxSockets: pool });
  },
  inject: [ESALES_RESOLVED_OPTIONS],
};

/**
 * The delivery backend beside the in-memory engine, as the `delivery` option chooses: none for
 * `'memory'`, the app's own object, or for `'bullmq'` one built from the `bullmq` options after
 * loading `nestjs-esales/bullmq` at boot (an async factory), so the main entry point never loads
 * `bullmq` or `ioredis`, optional peers an in-memory app does not install.
 */
export const deliveryBackendProvider: Provider = {
  provide: ESALES_DELIVERY_BACKEND,
  useFactory: async (options: ResolvedEsalesOptions): Promise<EsalesDeliveryBackend | null> => {
    const choice = options.deliveryBackend;
    if (typeof choice === 'object') return choice;
    const settings = options.bullmq;
    if (choice !== 'bullmq' || !settings || !options.enabled) return null;
    const { BullmqDeliveryBackend } = await loadBullmqEntry();
    return new BullmqDeliveryBackend(settings);
  },
  inject: [ESALES_RESOLVED_OPTIONS],
};

/** What `nestjs-esales/opentelemetry` provides here (its module type would reach the API's). */
interface TelemetryEntry {
  readonly EsalesTelemetry: new (options: {
    readonly metrics: boolean;
    readonly traceNotifications: boolean;
    readonly markets: readonly string[];
  }) => TelemetryHooks;
}

/**
 * The OpenTelemetry side, as `metrics` and `traceNotifications` choose. `metrics: true` loads
 * `nestjs-esales/opentelemetry` at boot (an `EsalesConfigError` says what to install when
 * `@opentelemetry/api` is missing). Otherwise it is loaded only to keep the app's instrumentation off
 * our own requests, and only when `@opentelemetry/api` is installed at all: an app without it has no
 * instrumentation to keep off.
 */
export const telemetryProvider: Provider = {
  provide: ESALES_TELEMETRY,
  useFactory: async (options: ResolvedEsalesOptions): Promise<TelemetryHooks | null> => {
    const { metrics, traceNotifications } = options.telemetry;
    // Metrics count skips too, so they are recorded while disabled; without metrics there is only
    // our requests' tracing to keep off, and none are sent while disabled.
    if (!metrics && (traceNotifications || !options.enabled)) return null;
    const settings = {
      metrics,
      traceNotifications,
      markets: options.markets ?? [options.defaultMarket],
    };
    if (metrics) return new (await loadTelemetryEntry()).EsalesTelemetry(settings);
    try {
      return new (await loadTelemetryEntry()).EsalesTelemetry(settings);
    } catch (error) {
      if (error instanceof EsalesConfigError) return null;
      throw error;
    }
  },
  inject: [ESALES_RESOLVED_OPTIONS],
};

/** How Node names a missing `axios` or `@nestjs/axios`, from ESM and from CommonJS. */
const MISSING_AXIOS_PEER = /Cannot find (?:package|module) '(?:@nestjs\/axios|axios)'/;
/** How Node names a missing `@opentelemetry/api`. */
const MISSING_OTEL_PEER = /Cannot find (?:package|module) '@opentelemetry\/api'/;
/** How Node names a missing `bullmq` or `ioredis`. */
const MISSING_BULLMQ_PEER = /Cannot find (?:package|module) '(?:bullmq|ioredis)'/;

/** @internal `nestjs-esales/axios`, or an `EsalesConfigError` saying what to install. */
export function loadAxiosEntry(
  load: () => Promise<AxiosEntry> = () => import('./axios.js'),
): Promise<AxiosEntry> {
  return loadOptionalEntry(
    load,
    MISSING_AXIOS_PEER,
    "transport: 'axios' needs the optional peers @nestjs/axios and axios: " +
      'npm install @nestjs/axios axios (or use the default undici transport)',
  );
}

/** @internal `nestjs-esales/bullmq`, or an `EsalesConfigError` saying what to install. */
export function loadBullmqEntry(
  load: () => Promise<BullmqEntry> = () => import('./bullmq.js'),
): Promise<BullmqEntry> {
  return loadOptionalEntry(
    load,
    MISSING_BULLMQ_PEER,
    "delivery: 'bullmq' (ESALES_DELIVERY=bullmq) needs the optional peers bullmq and ioredis: " +
      "npm install bullmq ioredis (or use the default delivery: 'memory')",
  );
}

/** @internal `nestjs-esales/opentelemetry`, or an `EsalesConfigError` saying what to install. */
export function loadTelemetryEntry(
  load: () => Promise<TelemetryEntry> = () => import('./opentelemetry.js'),
): Promise<TelemetryEntry> {
  return loadOptionalEntry(
    load,
    MISSING_OTEL_PEER,
    'metrics: true (ESALES_METRICS=true) needs the optional peer @opentelemetry/api: ' +
      'npm install @opentelemetry/api, and register an OpenTelemetry SDK with an exporter in the app',
  );
}

async function loadOptionalEntry<T>(
  load: () => Promise<T>,
  missing: RegExp,
  problem: string,
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    const missingPeer =
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      typeof message === 'string' &&
      missing.test(message);
    // Anything else (a dependency of the peer missing, a broken install) is reported as it is.
    if (!missingPeer) throw error;
    const configError = new EsalesConfigError([problem]);
    Object.defineProperty(configError, 'cause', { value: error, enumerable: false });
    throw configError;
  }
}
