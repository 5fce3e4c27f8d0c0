import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { EsalesModuleOptions } from './config/esales-options.interface.js';

/** Extras accepted by `forRoot` / `forRootAsync` beside the options themselves. */
export interface EsalesModuleExtras {
  /**
   * Register the module globally, so feature modules can inject its services without importing it.
   * @default false
   */
  isGlobal?: boolean;
}

const builder = new ConfigurableModuleBuilder<EsalesModuleOptions>({ moduleName: 'Esales' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createEsalesOptions')
  .setExtras<EsalesModuleExtras>({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal ?? false,
  }))
  .build();

/** @internal Base class giving `EsalesModule` its `forRoot` and `forRootAsync`. */
export const EsalesConfigurableModuleClass = builder.ConfigurableModuleClass;

/** Injection token of the raw options passed to `forRoot` / returned by `forRootAsync`'s factory. */
export const ESALES_MODULE_OPTIONS = builder.MODULE_OPTIONS_TOKEN;

/** Type of `EsalesModule.forRoot()`'s argument, for `typeof ESALES_OPTIONS_TYPE` annotations. */
export const ESALES_OPTIONS_TYPE = builder.OPTIONS_TYPE;

/** Type of `EsalesModule.forRootAsync()`'s argument, for `typeof ESALES_ASYNC_OPTIONS_TYPE` annotations. */
export const ESALES_ASYNC_OPTIONS_TYPE = builder.ASYNC_OPTIONS_TYPE;
