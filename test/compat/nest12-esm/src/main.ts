// Compatibility check: the packed nestjs-esales tarball in a Nest 12 ESM app, compiled with its own tsc;
// also `nestjs-esales/config` with @nestjs/config 12.
import 'reflect-metadata';
import {
  Injectable,
  Module,
  type DynamicModule,
  type INestApplicationContext,
  type LoggerService,
} from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import {
  EsalesConfigError,
  EsalesError,
  EsalesModule,
  EsalesNotificationService,
  EsalesValidationError,
  type NonEsalesClickNotification,
} from 'nestjs-esales';
import { esalesConfig } from 'nestjs-esales/config';
import { ElevateStandIn, type StandInRequest } from 'nestjs-esales/testing';

const NAME = 'compat nest12-esm';
const TIMEOUT_MS = 10_000;
const ENDPOINT = '/api/v1/notifications/non-esales-click';

let finished = false;
const watchdog = setTimeout(() => {
  console.error(
    finished
      ? `${NAME}: FAILED: process still alive ${TIMEOUT_MS / 1000} s after start although the check finished (open handles after close)`
      : `${NAME}: FAILED: timed out after ${TIMEOUT_MS / 1000} s`,
  );
  process.exit(1);
}, TIMEOUT_MS);

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** A provider of the app's own that gets the package's service through Nest DI (design:paramtypes). */
@Injectable()
class ClickTracker {
  constructor(private readonly esales: EsalesNotificationService) {}

  productClicked(notification: NonEsalesClickNotification): Promise<void> {
    return this.esales.sendNonEsalesClick(notification);
  }
}

@Module({})
class AppModule {
  static register(clusterUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        EsalesModule.forRoot({ clusterUrl, allowInsecureClusterUrl: true, defaultMarket: 'UK' }),
      ],
      providers: [ClickTracker],
    };
  }
}

/** The same app configured through `nestjs-esales/config` and @nestjs/config from `ESALES_*` env. */
@Module({
  imports: [
    ConfigModule.forRoot({ ignoreEnvFile: true }),
    EsalesModule.forRootAsync(esalesConfig.asProvider()),
  ],
  providers: [ClickTracker],
})
class ConfigAppModule {}

async function main(): Promise<void> {
  let standIn: ElevateStandIn | undefined;
  let app: INestApplicationContext | undefined;
  let configApp: INestApplicationContext | undefined;
  try {
    standIn = await ElevateStandIn.start({ host: '127.0.0.1' });
    check(standIn.url.startsWith('http://127.0.0.1:'), `stand-in url is ${standIn.url}`);
    app = await NestFactory.createApplicationContext(AppModule.register(standIn.url), {
      logger: ['error', 'warn'],
      abortOnError: false,
    });
    const tracker = app.get(ClickTracker);
    check(tracker instanceof ClickTracker, 'app.get(ClickTracker) did not return a ClickTracker');

    await tracker.productClicked({
      customerKey: 'compat-customer-1',
      sessionKey: 'compat-session-1',
      id: 'compat-nest12-esm-0001',
      productKey: 'P-1',
      variantKey: 'V-1',
    });
    const requests: StandInRequest[] = await standIn.waitForRequests(1);
    check(requests.length === 1, `stand-in received ${requests.length} requests, expected 1`);
    const [request] = requests;
    check(request, 'no request recorded');
    check(request.method === 'POST', `method is ${request.method}, expected POST`);
    check(request.path === ENDPOINT, `path is ${request.path}, expected ${ENDPOINT}`);
    const expectedBody =
      '{"market":"UK","customerKey":"compat-customer-1","sessionKey":"compat-session-1",' +
      '"id":"compat-nest12-esm-0001","productKey":"P-1","variantKey":"V-1"}';
    check(
      request.rawBody === expectedBody,
      `body is ${JSON.stringify(request.rawBody)}, expected ${JSON.stringify(expectedBody)}`,
    );
    check(
      String(request.headers['content-type']).startsWith('application/json'),
      `content-type is ${String(request.headers['content-type'])}`,
    );
    check(request.status === 204, `stand-in answered ${String(request.status)}, expected 204`);

    // Missing productKey and variantKey: rejected before any I/O.
    const invalid: NonEsalesClickNotification = {
      customerKey: 'compat-customer-1',
      sessionKey: 'compat-session-1',
    };
    let rejection: unknown;
    try {
      await tracker.productClicked(invalid);
    } catch (error) {
      rejection = error;
    }
    check(
      rejection !== undefined,
      'an invalid notification resolved, expected EsalesValidationError',
    );
    check(
      rejection instanceof EsalesValidationError,
      `an invalid notification rejected with ${String(rejection)}, expected EsalesValidationError`,
    );
    check(rejection instanceof EsalesError, 'EsalesValidationError is not an EsalesError');
    check(
      rejection.fields.includes('productKey'),
      `validation fields are ${rejection.fields.join(', ')}`,
    );
    check(
      standIn.requests.length === 1,
      `stand-in received ${standIn.requests.length} requests, expected still 1`,
    );

    // nestjs-esales/config with @nestjs/config: options from the ESALES_* environment.
    standIn.clear();
    process.env['ESALES_CLUSTER_URL'] = standIn.url;
    process.env['ESALES_ALLOW_INSECURE_CLUSTER_URL'] = 'true';
    process.env['ESALES_DEFAULT_MARKET'] = 'Sweden';
    configApp = await NestFactory.createApplicationContext(ConfigAppModule, {
      logger: ['error', 'warn'],
      abortOnError: false,
    });
    await configApp.get(ClickTracker).productClicked({
      customerKey: 'compat-customer-2',
      sessionKey: 'compat-session-2',
      id: 'compat-nest12-esm-0002',
      productKey: 'P-2',
      variantKey: 'V-2',
    });
    const [configRequest] = await standIn.waitForRequests(1);
    check(configRequest, 'no request recorded from the env-configured app');
    const expectedConfigBody =
      '{"market":"Sweden","customerKey":"compat-customer-2","sessionKey":"compat-session-2",' +
      '"id":"compat-nest12-esm-0002","productKey":"P-2","variantKey":"V-2"}';
    check(
      configRequest.rawBody === expectedConfigBody,
      `env-configured body is ${JSON.stringify(configRequest.rawBody)}, expected ${JSON.stringify(expectedConfigBody)}`,
    );
    check(
      configRequest.status === 204,
      `stand-in answered the env-configured app ${String(configRequest.status)}, expected 204`,
    );
    await configApp.close();
    configApp = undefined;

    // A malformed ESALES_* variable fails the boot with EsalesConfigError naming it. Nest logs the failed
    // boot at error level before rethrowing; that log is expected, so it is dropped (warnings still show).
    process.env['ESALES_ENABLED'] = 'maybe';
    const expectedErrorLog: LoggerService = {
      log: () => undefined,
      error: () => undefined,
      warn: (message: unknown, ...rest: unknown[]) => console.warn(message, ...rest),
    };
    let bootError: unknown;
    try {
      configApp = await NestFactory.createApplicationContext(ConfigAppModule, {
        logger: expectedErrorLog,
        abortOnError: false,
      });
    } catch (error) {
      bootError = error;
    }
    check(
      bootError !== undefined,
      'booting with ESALES_ENABLED=maybe succeeded, expected it to fail',
    );
    check(
      bootError instanceof EsalesConfigError,
      `booting with ESALES_ENABLED=maybe failed with ${String(bootError)}, expected EsalesConfigError`,
    );
    check(
      bootError.message.includes('ESALES_ENABLED'),
      `EsalesConfigError message does not name ESALES_ENABLED: ${bootError.message}`,
    );
  } finally {
    await configApp?.close();
    await app?.close();
    await standIn?.close();
  }
}

main().then(
  () => {
    finished = true;
    // Let the process exit on its own; the watchdog fails it if open handles keep it alive.
    watchdog.unref();
    console.log(`${NAME}: ok`);
  },
  (error: unknown) => {
    console.error(
      `${NAME}: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(1);
  },
);
