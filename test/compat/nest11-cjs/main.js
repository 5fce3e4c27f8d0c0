// Compatibility check: the packed nestjs-esales tarball loaded with require() (Node >= 20.19 loads
// ES modules synchronously) in a Nest 11 CommonJS app, plain JavaScript with decorators as calls.
'use strict';

require('reflect-metadata');
const { Inject, Injectable, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');

const NAME = 'compat nest11-cjs';
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

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function main() {
  // Loaded inside main so a failing require() is reported like any other failure.
  const {
    EsalesError,
    EsalesModule,
    EsalesNotificationService,
    EsalesValidationError,
  } = require('nestjs-esales');
  const { ElevateStandIn } = require('nestjs-esales/testing');
  check(typeof EsalesModule === 'function', "require('nestjs-esales').EsalesModule is not a class");
  check(
    typeof ElevateStandIn === 'function',
    "require('nestjs-esales/testing').ElevateStandIn is not a class",
  );

  /** A provider of the app's own that gets the package's service through Nest DI. */
  class ClickTracker {
    constructor(esales) {
      this.esales = esales;
    }

    productClicked(notification) {
      return this.esales.sendNonEsalesClick(notification);
    }
  }
  Injectable()(ClickTracker);
  Inject(EsalesNotificationService)(ClickTracker, undefined, 0);

  class AppModule {
    static register(clusterUrl) {
      return {
        module: AppModule,
        imports: [
          EsalesModule.forRoot({ clusterUrl, allowInsecureClusterUrl: true, defaultMarket: 'UK' }),
        ],
        providers: [ClickTracker],
      };
    }
  }
  Module({})(AppModule);

  let standIn;
  let app;
  try {
    standIn = await ElevateStandIn.start({ host: '127.0.0.1' });
    check(standIn.url.startsWith('http://127.0.0.1:'), `stand-in url is ${standIn.url}`);
    app = await NestFactory.createApplicationContext(AppModule.register(standIn.url), {
      logger: ['error', 'warn'],
      abortOnError: false,
    });
    const tracker = app.get(ClickTracker);
    check(tracker instanceof ClickTracker, 'app.get(ClickTracker) did not return a ClickTracker');
    check(
      tracker.esales instanceof EsalesNotificationService,
      'ClickTracker was not given an EsalesNotificationService',
    );

    await tracker.productClicked({
      customerKey: 'compat-customer-1',
      sessionKey: 'compat-session-1',
      id: 'compat-nest11-cjs-0001',
      productKey: 'P-1',
      variantKey: 'V-1',
    });
    const requests = await standIn.waitForRequests(1);
    check(requests.length === 1, `stand-in received ${requests.length} requests, expected 1`);
    const [request] = requests;
    check(request.method === 'POST', `method is ${request.method}, expected POST`);
    check(request.path === ENDPOINT, `path is ${request.path}, expected ${ENDPOINT}`);
    const expectedBody =
      '{"market":"UK","customerKey":"compat-customer-1","sessionKey":"compat-session-1",' +
      '"id":"compat-nest11-cjs-0001","productKey":"P-1","variantKey":"V-1"}';
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
    let rejection;
    try {
      await tracker.productClicked({
        customerKey: 'compat-customer-1',
        sessionKey: 'compat-session-1',
      });
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
  } finally {
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
  (error) => {
    console.error(
      `${NAME}: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(1);
  },
);
