import { registerAs } from '@nestjs/config';
import type { EsalesModuleOptions } from './esales-options.interface.js';
import { esalesOptionsFromEnv } from './esales-options-from-env.js';

/**
 * `registerAs('esales', …)` over the `ESALES_*` environment, for @nestjs/config users:
 * `EsalesModule.forRootAsync(esalesConfig.asProvider())`, or `ConfigModule.forFeature(esalesConfig)`
 * and inject `esalesConfig.KEY`. Lives in `nestjs-esales/config` so the main entry point does not
 * require @nestjs/config.
 */
export const esalesConfig = registerAs('esales', (): EsalesModuleOptions =>
  esalesOptionsFromEnv(process.env),
);
