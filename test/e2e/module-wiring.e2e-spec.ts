import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Module,
  Param,
  Redirect,
  type INestApplication,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { request } from 'undici';
import { TrackNonEsalesClick } from '../../lib/click-tracking/tracking.decorators.js';
import { EsalesModule } from '../../lib/esales.module.js';
import { NotificationPipeline } from '../../lib/notification-pipeline.js';
import { EsalesNotificationService } from '../../lib/esales-notification.service.js';
import { EsalesConfigError } from '../../lib/errors/esales-config.error.js';
import { ElevateStandIn } from '../../lib/testing/elevate-stand-in.js';
import { CaptureLogger } from '../support/capture-logger.js';

/*
 * How Nest apps are laid out: the tracked controller in a feature module of its own, EsalesModule
 * registered once in the root module, not global and not imported by the feature module. The
 * decorator must work there as written in the Quick start, and fail at boot with a clear error when
 * EsalesModule is missing altogether.
 */

type Platform = 'express' | 'fastify';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0';

@Controller('products')
class ProductsController {
  @Get(':productKey/redirect')
  @Redirect()
  @TrackNonEsalesClick({ productKey: 'productKey' })
  redirect(@Param('productKey') productKey: string) {
    return { url: `/p/${productKey}` };
  }
}

@Module({ controllers: [ProductsController] })
class ProductsModule {}

@Controller('misnamed')
class MisnamedController {
  @Get(':productKey/redirect')
  @Redirect()
  // The route calls it productKey: "sku" names nothing.
  @TrackNonEsalesClick({ productKey: 'sku' })
  redirect(@Param('productKey') productKey: string) {
    return { url: `/p/${productKey}` };
  }
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

async function listen(
  platform: Platform,
  root: Type,
  logs = new CaptureLogger(),
): Promise<INestApplication> {
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  const app = await NestFactory.create(root, adapter, { logger: logs, abortOnError: false });
  closers.push(() => app.close());
  await app.listen(0, '127.0.0.1');
  return app;
}

/** A stand-in for the cluster, closed after the test, and the module options pointing at it. */
async function cluster() {
  const standIn = await ElevateStandIn.start();
  closers.push(() => standIn.close());
  const options = { clusterUrl: standIn.url, allowInsecureClusterUrl: true, defaultMarket: 'UK' };
  return { standIn, options };
}

/** GETs `path` from the app as a browser would; resolves with the status. */
async function visit(app: INestApplication, path: string): Promise<number> {
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const response = await request(url + path, { headers: { 'user-agent': UA } });
  await response.body.dump();
  return response.statusCode;
}

describe.each<Platform>(['express', 'fastify'])('module wiring on %s', (platform) => {
  it.each(['forRoot', 'forRootAsync'] as const)(
    'tracks a controller of a feature module when the root module registers EsalesModule.%s (not global)',
    async (registration) => {
      const { standIn, options } = await cluster();
      @Module({
        imports: [
          registration === 'forRoot'
            ? EsalesModule.forRoot(options)
            : EsalesModule.forRootAsync({ useFactory: () => Promise.resolve(options) }),
          ProductsModule,
        ],
      })
      class AppModule {}
      const app = await listen(platform, AppModule);
      expect(await visit(app, '/products/shirt/redirect')).toBe(302);
      await app.get(EsalesNotificationService).flush();
      expect(standIn.accepted.map((r) => (r.body as { productKey: string }).productKey)).toEqual([
        'shirt',
      ]);
    },
  );

  it('warns (once per route and parameter) when a route-parameter source names no parameter', async () => {
    const { standIn, options } = await cluster();
    @Module({
      imports: [EsalesModule.forRoot(options)],
      controllers: [MisnamedController],
    })
    class AppModule {}
    const logs = new CaptureLogger();
    const app = await listen(platform, AppModule, logs);
    for (let i = 0; i < 3; i++) expect(await visit(app, '/misnamed/shirt/redirect')).toBe(302);
    await app.get(EsalesNotificationService).flush();
    expect(standIn.requests).toHaveLength(0);
    const warnings = logs.lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warnings).toEqual([
      '@TrackNonEsalesClick on MisnamedController.redirect: productKey reads the route parameter ' +
        '"sku", which the route does not have (its parameters: productKey); use { query: "sku" } ' +
        'for a query parameter',
    ]);
  });

  it('uses the providers the controller’s own module provides (an override in a test module)', async () => {
    const { standIn, options } = await cluster();
    const prepared: unknown[] = [];
    // Only what the interceptor calls; anything else it reached for would throw.
    const stub = {
      skip: () => undefined,
      prepare: (_kind: unknown, notification: unknown) => (prepared.push(notification), undefined),
      enqueuePrepared: () => undefined,
    };
    @Module({
      imports: [EsalesModule.forRoot(options)],
      controllers: [ProductsController],
      providers: [{ provide: NotificationPipeline, useValue: stub }],
    })
    class AppModule {}
    const app = await listen(platform, AppModule);
    expect(await visit(app, '/products/shirt/redirect')).toBe(302);
    expect(prepared).toEqual([expect.objectContaining({ productKey: 'shirt' })]);
    expect(standIn.requests).toHaveLength(0);
  });

  it('fails at boot with one EsalesConfigError and the fix when EsalesModule is not registered', async () => {
    @Module({ imports: [ProductsModule] })
    class AppModule {}
    let error: unknown;
    try {
      await listen(platform, AppModule);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EsalesConfigError);
    expect((error as EsalesConfigError).problems).toEqual([
      'EsalesClickInterceptor (used by the tracking decorators) found no EsalesModule: add ' +
        'EsalesModule.forRoot({ … }) (or forRootAsync) to the imports of your AppModule',
    ]);
  });
});
