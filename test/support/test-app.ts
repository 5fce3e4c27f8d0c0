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
  /** Trust `X-Forwarded-*` as behind a proxy (Express's 'trust proxy', Fastify's `trustProxy`). */
  readonly trustProxy?: boolean;
  /**
   * Module options over the defaults: the stand-in's URL, market UK, and (unless `moduleDefaults`)
   * the shared private key, fast retries (10–50 ms) and a short shutdown (500 ms).
   */
  readonly options?: Partial<EsalesModuleOptions>;
  /**
   * Leave the private key, retry delays and shutdown timeout to the module's own defaults, as an
   * app that sets none gets them; the stand-in then has a key only if `options.privateKey` gives one.
   */
  readonly moduleDefaults?: boolean;
  /** Register the module with `forRootAsync` (an async `useFactory`) instead of `forRoot`. */
  readonly async?: boolean;
  /**
   * Options of the stand-in to start (its private key defaults to the module's), or a running
   * stand-in to share: the app then points at it, and `close()` leaves it running.
   */
  readonly standIn?: ElevateStandInOptions | ElevateStandIn;
  /** More modules for the app, next to the `EsalesModule` (e.g. `TerminusModule`). */
  readonly imports?: ModuleMetadata['imports'];
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
  /** Closes the app only, leaving the stand-in up to be inspected; once (`close()` reuses it). */
  closeApp(): Promise<void>;
  /** Closes the app, then the stand-in (unless it was shared). */
  close(): Promise<void>;
}

/**
 * One builder for the e2e specs: starts an `ElevateStandIn` (or shares one), boots an app whose
 * `EsalesModule` points at it (fast retries, short shutdown, unless `moduleDefaults`), and listens
 * on a free loopback port when a platform is given. Every spec's wiring in one place, so a new kind
 * is a row in a table, not another copy.
 */
export async function testApp(spec: TestAppOptions = {}): Promise<TestApp> {
  const tuned = !spec.moduleDefaults;
  const privateKey = tuned
    ? (spec.options?.privateKey ?? TEST_PRIVATE_KEY)
    : spec.options?.privateKey;
  const shared = spec.standIn instanceof ElevateStandIn ? spec.standIn : undefined;
  const standIn =
    shared ??
    (await ElevateStandIn.start({ privateKey, ...(spec.standIn as ElevateStandInOptions) }));
  const closeStandIn = async () => {
    if (!shared) await standIn.close();
  };
  try {
    const moduleOptions: EsalesModuleOptions = {
      clusterUrl: standIn.url,
      allowInsecureClusterUrl: true,
      defaultMarket: 'UK',
      ...(tuned
        ? { privateKey, retryBaseDelayMs: 10, retryMaxDelayMs: 50, shutdownTimeoutMs: 500 }
        : {}),
      ...spec.options,
    };
    @Module({
      imports: [
        spec.async
          ? EsalesModule.forRootAsync({ useFactory: () => Promise.resolve(moduleOptions) })
          : EsalesModule.forRoot(moduleOptions),
        ...(spec.imports ?? []),
      ],
      controllers: spec.controllers ?? [],
      providers: spec.providers ?? [],
    })
    class TestAppModule {}
    const logs = new CaptureLogger();
    let app: INestApplicationContext;
    let url = '';
    if (spec.platform) {
      const trustProxy = spec.trustProxy ?? false;
      const adapter =
        spec.platform === 'express' ? new ExpressAdapter() : new FastifyAdapter({ trustProxy });
      const http = await NestFactory.create(TestAppModule, adapter, {
        logger: logs,
        abortOnError: false,
      });
      if (spec.platform === 'express' && trustProxy) {
        (http.getHttpAdapter().getInstance() as { set(k: string, v: unknown): void }).set(
          'trust proxy',
          true,
        );
      }
      await http.listen(0, '127.0.0.1');
      url = (await http.getUrl()).replace('[::1]', '127.0.0.1');
      app = http;
    } else {
      app = await NestFactory.createApplicationContext(TestAppModule, {
        logger: logs,
        abortOnError: false,
      });
    }
    let closing: Promise<void> | undefined;
    const closeApp = (): Promise<void> => (closing ??= app.close());
    return {
      standIn,
      app,
      service: app.get(EsalesNotificationService),
      logs,
      url,
      closeApp,
      close: async () => {
        await closeApp();
        await closeStandIn();
      },
    };
  } catch (error) {
    await closeStandIn();
    throw error;
  }
}
