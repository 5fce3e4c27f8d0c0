import { Logger } from '@nestjs/common';
// In your own app: `from 'nestjs-esales/testing'`.
import { ElevateStandIn } from '../../lib/testing.js';

/**
 * The private key the sample uses when `ESALES_PRIVATE_KEY` is not set. **Not a secret**: it is
 * public in this repository and only signs tokens for the embedded stand-in. A real cluster's key
 * comes from Voyado and belongs in your secret store, never in code.
 */
export const SAMPLE_PRIVATE_KEY = 'sample-app-private-key-NOT-A-SECRET';

/** The market the sample uses when `ESALES_DEFAULT_MARKET` is not set. */
export const SAMPLE_DEFAULT_MARKET = 'UK';

const PER_MARKET_CLUSTER = /^ESALES_MARKET_.+_CLUSTER_(URL|ID)$/;

type Env = Record<string, string | undefined>;

/** Blank counts as unset, as in `esalesOptionsFromEnv`, so both agree on whether a cluster is named. */
const isSet = (value: string | undefined): value is string => !!value?.trim();

/** Whether the environment names an Elevate cluster, at the top level or for some market. */
export function isClusterConfigured(env: Env): boolean {
  return Object.entries(env).some(
    ([name, value]) =>
      (name === 'ESALES_CLUSTER_URL' ||
        name === 'ESALES_CLUSTER_ID' ||
        PER_MARKET_CLUSTER.test(name)) &&
      isSet(value),
  );
}

/**
 * Lets `npm start` work without Voyado credentials: when no cluster is configured, starts an
 * `ElevateStandIn` on a free loopback port and points the `ESALES_*` variables at it.
 *
 * Must run before the Nest app is created, because `esalesConfig` reads the environment when
 * `EsalesModule` resolves its options. The stand-in checks tokens with the same private key the
 * module signs them with, so signed-in clicks are accepted exactly as a real cluster would accept
 * them.
 *
 * @returns the stand-in, or undefined when a real cluster is configured.
 */
export async function startEmbeddedStandIn(
  env: Env = process.env,
  logger = new Logger('SampleApp'),
): Promise<ElevateStandIn | undefined> {
  if (isClusterConfigured(env)) return undefined;
  const ownKey = env['ESALES_PRIVATE_KEY'];
  const privateKey = isSet(ownKey) ? ownKey.trim() : SAMPLE_PRIVATE_KEY;
  const standIn = await ElevateStandIn.start({ privateKey, host: '127.0.0.1', port: 0 });
  env['ESALES_CLUSTER_URL'] = standIn.url;
  env['ESALES_ALLOW_INSECURE_CLUSTER_URL'] = 'true';
  env['ESALES_PRIVATE_KEY'] = privateKey;
  if (!isSet(env['ESALES_DEFAULT_MARKET'])) env['ESALES_DEFAULT_MARKET'] = SAMPLE_DEFAULT_MARKET;
  logger.log(
    `No ESALES_CLUSTER_URL or ESALES_CLUSTER_ID set: started an embedded Elevate stand-in at ` +
      `${standIn.url} (private key: ${isSet(ownKey) ? 'ESALES_PRIVATE_KEY' : 'the sample key, not a secret'}); ` +
      `what it receives is listed at GET /_esales-stand-in/notifications`,
  );
  return standIn;
}
