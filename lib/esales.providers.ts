import type { Provider } from '@nestjs/common';
import type { EsalesModuleOptions } from './config/esales-options.interface.js';
import { resolveEsalesOptions } from './config/resolve-esales-options.js';
import { ESALES_RESOLVED_OPTIONS, ESALES_TRANSPORT } from './esales.constants.js';
import { ESALES_MODULE_OPTIONS } from './esales.module-definition.js';
import { AxiosEsalesTransport } from './transport/axios.transport.js';

/**
 * Derived provider: validates the raw options once, at boot, and hands the rest of the package a
 * `ResolvedEsalesOptions`. Invalid options throw `EsalesConfigError` here and stop the app.
 */
export const resolvedOptionsProvider: Provider = {
  provide: ESALES_RESOLVED_OPTIONS,
  useFactory: (options: EsalesModuleOptions) => resolveEsalesOptions(options),
  inject: [ESALES_MODULE_OPTIONS],
};

/** The transport behind the service. */
export const transportProvider: Provider = {
  provide: ESALES_TRANSPORT,
  useExisting: AxiosEsalesTransport,
};
