import { Logger } from '@nestjs/common';
// In your own app: `from 'nestjs-esales'`.
import { ESALES_ENV_VARIABLES } from '../../lib/index.js';

/** Where the sample's pages send in-page clicks when `ESALES_BEACON_PATH` is not set. */
export const SAMPLE_BEACON_PATH = '/esales/notify';

const BEACON_VARIABLE = 'ESALES_BEACON_PATH';

type Env = Record<string, string | undefined>;

const isSet = (value: string | undefined): value is string => !!value?.trim();

/**
 * Whether this checkout of `nestjs-esales` has the beacon endpoint (`beacon: { path }`, read from
 * `ESALES_BEACON_PATH`). Older versions refuse unknown `ESALES_*` variables at boot, so the sample
 * sets the variable only when the package reads it.
 */
export function beaconSupported(): boolean {
  return ESALES_ENV_VARIABLES.includes(BEACON_VARIABLE);
}

/**
 * Turns the beacon endpoint on at `/esales/notify` unless `ESALES_BEACON_PATH` is set (a blank
 * value counts as unset). Like the stand-in's defaults, it must run before the Nest app is created:
 * `esalesConfig` reads the environment when `EsalesModule` resolves its options.
 */
export function applyBeaconDefault(env: Env = process.env, logger = new Logger('SampleApp')): void {
  if (!beaconSupported()) {
    logger.log(
      `This nestjs-esales has no beacon endpoint: the storefront's "recommended for you" clicks go ` +
        `through the tracked redirect instead`,
    );
    return;
  }
  if (!isSet(env[BEACON_VARIABLE])) env[BEACON_VARIABLE] = SAMPLE_BEACON_PATH;
}

/** The beacon endpoint's path the pages post to, or undefined when there is none. */
export function beaconPath(env: Env = process.env): string | undefined {
  const path = env[BEACON_VARIABLE];
  return beaconSupported() && isSet(path) ? path.trim() : undefined;
}
