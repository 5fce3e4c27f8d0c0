import { HttpService } from '@nestjs/axios';
import type { Provider } from '@nestjs/common';
import axios from 'axios';
import type { EsalesModuleOptions } from './config/esales-options.interface.js';
import {
  resolveEsalesOptions,
  type ResolvedEsalesOptions,
} from './config/resolve-esales-options.js';
import { maxInFlightOf } from './delivery/delivery-settings.interface.js';
import { ESALES_RESOLVED_OPTIONS, ESALES_TRANSPORT } from './esales.constants.js';
import { ESALES_MODULE_OPTIONS } from './esales.module-definition.js';
import { AxiosEsalesTransport } from './transport/axios.transport.js';
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
 */
export const transportProvider: Provider = {
  provide: ESALES_TRANSPORT,
  useFactory: (options: ResolvedEsalesOptions): EsalesTransport => {
    if (typeof options.transport === 'object') return options.transport;
    // HTTP/1.1 carries one request per connection: the pool is as large as the limit can grow.
    const pool = maxInFlightOf(options.delivery.concurrency);
    return options.transport === 'axios'
      ? new AxiosEsalesTransport(new HttpService(axios.create()), { maxSockets: pool })
      : new UndiciEsalesTransport({ connections: pool });
  },
  inject: [ESALES_RESOLVED_OPTIONS],
};
