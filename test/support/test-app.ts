import {
  Module,
  type INestApplicationContext,
  type ModuleMetadata,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { EsalesModuleOptions } from '../../lib/config/esales-options.interface.js';
import { EsalesModule } from '../../lib/esales.module.js';
import { EsalesNotificationService } from '../../lib/esales-notification.service.js';
import { ElevateStandIn, type ElevateStandInOptions } from '../../lib/testing/elevate-stand-in.js';
import { CaptureLogger } from './capture-logger.js';

/** The private key the stand-in and the module share unless a test says otherwise. */
export const TEST_PRIVATE_KEY = 'test-app-private-key';

/** A browser's user agent: click tracking skips requests without one as bots. */
export const BROWSER_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36';

export type Platform = 'express' | 'fastify';

/** What `testApp()` builds. */
export interface TestAppOptions {
  /** Serve HTTP on this platform (with `controllers`); without it, an application context. */
  readonly platform?: Platform;
  /** Module options over the defaults (the stand-in's URL, market UK, the shared private key). */
  readonly options?: Partial<EsalesModuleOptions>;
  /** Options of the stand-in (its private key defaults to the module's). */
  readonly standIn?: ElevateStandInOptions;
  readonly controllers?: Type[];
  readonly providers?: ModuleMetadata['providers'];
}

/** A real Nest app on an `EsalesModule` that talks to a real stand-in on loopback. */
export interface TestApp {
  readonly standIn: ElevateStandIn;
  readonly app: INestApplicationContext;
  readonly service: EsalesNotificationService;
  readonly logs: CaptureLogger;
  /** The app's base URL on 127.0.0.1 (HTTP apps only; '' for a context). */
  readonly url: string;
  /** Closes the app, then the stand-in. */
  close(): Promise<void>;
}

/**
 * One builder for the e2e specs: starts an `ElevateStandIn`, boots an app whose `EsalesModule`
 * points at it (fast retries, short shutdown), and listens on a free loopback port when a platform
 * is given. Every spec's wiring in one place, so a new kind is a row in a table, not another copy.
 */
export async function testApp(spec: TestAppOptions = {}): Promise<TestApp> {
  const privateKey = spec.options?.privateKey ?? TEST_PRIVATE_KEY;
  const standIn = await ElevateStandIn.start({ privateKey, ...spec.standIn });
  try {
    @Module({
      imports: [
        EsalesModule.forRoot({
          clusterUrl: standIn.url,
          allowInsecureClusterUrl: true,
          defaultMarket: 'UK',
          privateKey,
          retryBaseDelayMs: 10,
          retryMaxDelayMs: 50,
          shutdownTimeoutMs: 500,
          ...spec.options,
        }),
      ],
      controllers: spec.controllers ?? [],
      providers: spec.providers ?? [],
    })
    class TestAppModule {}
    const logs = new CaptureLogger();
    let app: INestApplicationContext;
    let url = '';
    if (spec.platform) {
      const adapter = spec.platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
      const http = await NestFactory.create(TestAppModule, adapter, {
        logger: logs,
        abortOnError: false,
      });
      await http.listen(0, '127.0.0.1');
      url = (await http.getUrl()).replace('[::1]', '127.0.0.1');
      app = http;
    } else {
      app = await NestFactory.createApplicationContext(TestAppModule, {
        logger: logs,
        abortOnError: false,
      });
    }
    return {
      standIn,
      app,
      service: app.get(EsalesNotificationService),
      logs,
      url,
      close: async () => {
        await app.close();
        await standIn.close();
      },
    };
  } catch (error) {
    await standIn.close();
    throw error;
  }
}
