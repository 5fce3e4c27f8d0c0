import {
  Controller,
  Get,
  Injectable,
  Module,
  Param,
  Redirect,
  SetMetadata,
  UseGuards,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Session } from 'node:inspector/promises';
import { EMPTY } from 'rxjs';
import { Agent, request } from 'undici';
import { ESALES_TRACK_CLICK } from '../lib/click-tracking/click-tracking.constants.js';
import {
  EsalesClickInterceptor,
  EsalesModule,
  EsalesNotificationService,
  TrackNonEsalesClick,
} from '../lib/index.js';
import { ElevateStandIn } from '../lib/testing/elevate-stand-in.js';
import { VISITOR_HEADERS } from './load.js';

/*
 * `npm run bench:memory`: bytes allocated per tracked redirect, per route variant, and memory held
 * per queued notification. One process; allocations are counted by V8's sampling heap profiler
 * with the objects later collected by minor and major GCs included, so the figure is what a phase
 * allocated, garbage included (an estimate from 1 KiB samples). The load generator's own
 * allocations are the same for every route, so the differences between routes are the routes' own.
 *
 * Routes (all the same 302):
 * - untracked: a bare Nest redirect;
 * - tracked: `@TrackNonEsalesClick` (the interceptor, through Nest's rxjs interceptor pipeline);
 * - guard (experiment): the same tracking run from a guard instead (no interceptor pipeline), by
 *   calling the interceptor's `intercept` with a pass-through handler;
 * - raw-post: the untracked redirect plus one raw `undici.request` POST on `finish`;
 * - tracked-new: the tracked route for a first visit (no Apptus cookies: two ids assigned and set).
 * Every other phase is a returning visitor with a browser's user agent, as in `npm run bench`.
 */

const COUNT = Number(process.env['BENCH_ALLOC_COUNT'] ?? 1_000);
const PRODUCT = { productKey: 'productKey', variantKey: { query: 'variant' } } as const;
/** A first visit: no Apptus cookies yet, so the interceptor assigns two and sets them. */
const NEW_VISITOR = { 'user-agent': VISITOR_HEADERS['user-agent'] ?? '' };

const exposedGc = (globalThis as { gc?: () => void }).gc;
if (!exposedGc) throw new Error('run with --expose-gc');
const gc: () => void = exposedGc;
const inspector = new Session();
inspector.connect();

interface ProfileNode {
  selfSize: number;
  children: ProfileNode[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
/** `BENCH_ALLOC_TOP=N`: also print the N call sites that allocated most in each phase. */
const TOP = Number(process.env['BENCH_ALLOC_TOP'] ?? 0);
function printTop(label: string, head: ProfileNode): void {
  const sites = new Map<string, number>();
  const walk = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/main\//, '')}:${lineNumber + 1}`;
    sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
    node.children.forEach(walk);
  };
  walk(head);
  const top = [...sites].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  console.log(`-- ${label}: top allocation sites (KB per request)`);
  for (const [site, bytes] of top)
    console.log(`   ${(bytes / COUNT / 1024).toFixed(2).padStart(6)}  ${site}`);
}
const totalOf = (node: ProfileNode): number =>
  node.children.reduce((sum, child) => sum + totalOf(child), node.selfSize);

/** Bytes `run` allocated, garbage included. */
async function allocatedBy(run: () => Promise<void>, label = ''): Promise<number> {
  await inspector.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await run();
  const { profile } = (await inspector.post('HeapProfiler.stopSampling')) as unknown as {
    profile: { head: ProfileNode };
  };
  if (TOP > 0 && label) printTop(label, profile.head);
  return totalOf(profile.head);
}

/** Runs the experimental guard: the interceptor's work, without the interceptor pipeline. */
@Injectable()
class ClickGuard implements CanActivate {
  private static readonly pass: CallHandler = { handle: () => EMPTY };
  constructor(private readonly interceptor: EsalesClickInterceptor) {}
  canActivate(context: ExecutionContext): boolean {
    void this.interceptor.intercept(context, ClickGuard.pass);
    return true;
  }
}

let rawPending = 0;
const rawAgent = new Agent();
let clusterUrl = '';

@Controller()
class RedirectController {
  @Get('untracked/:productKey/redirect')
  @Redirect()
  untracked(@Param('productKey') productKey: string) {
    return { url: `/products/${productKey}` };
  }

  @Get('tracked/:productKey/redirect')
  @Redirect()
  @TrackNonEsalesClick(PRODUCT)
  tracked(@Param('productKey') productKey: string) {
    return { url: `/products/${productKey}` };
  }

  @Get('guard/:productKey/redirect')
  @Redirect()
  @SetMetadata(ESALES_TRACK_CLICK, PRODUCT)
  @UseGuards(ClickGuard)
  guard(@Param('productKey') productKey: string) {
    return { url: `/products/${productKey}` };
  }
}

@Module({
  imports: [],
  controllers: [RedirectController],
  providers: [EsalesClickInterceptor, ClickGuard],
})
class RoutesModule {}

async function measureRoutes(platform: 'express' | 'fastify', standIn: ElevateStandIn) {
  clusterUrl = standIn.url;
  @Module({
    imports: [
      EsalesModule.forRoot({
        clusterUrl,
        allowInsecureClusterUrl: true,
        defaultMarket: 'UK',
        isGlobal: true,
      }),
      RoutesModule,
    ],
  })
  class AppModule {}
  const app: INestApplication =
    platform === 'fastify'
      ? await NestFactory.create(AppModule, new FastifyAdapter(), { logger: false })
      : await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  const origin = url.replace('[::1]', '127.0.0.1');
  const service = app.get(EsalesNotificationService);
  const client = new Agent({ connections: 8 });

  const hit = async (route: string, i: number) => {
    const path = route === 'raw-post' ? 'untracked' : route === 'tracked-new' ? 'tracked' : route;
    const response = await request(`${origin}/${path}/p${i}/redirect?variant=v${i}`, {
      headers: route === 'tracked-new' ? NEW_VISITOR : VISITOR_HEADERS,
      dispatcher: client,
    });
    await response.body.dump();
    if (response.statusCode !== 302) throw new Error(`${route} answered ${response.statusCode}`);
    if (route === 'raw-post') {
      rawPending++;
      const done = () => rawPending--;
      void request(`${clusterUrl}/api/v1/notifications/non-esales-click`, {
        method: 'POST',
        body: JSON.stringify({
          market: 'UK',
          customerKey: 'c',
          sessionKey: 's',
          id: `${i}`,
          productKey: 'p',
          variantKey: null,
        }),
        headers: { 'content-type': 'application/json' },
        dispatcher: rawAgent,
      }).then((r) => r.body.dump().then(done, done), done);
    }
  };
  const phase = async (route: string) => {
    // Warm-up: JIT, pools, the isbot memo.
    for (let i = 0; i < 200; i++) await hit(route === 'raw-post' ? 'untracked' : route, i);
    await service.flush(10_000);
    gc();
    let next = 0;
    const worker = async () => {
      while (next < COUNT) await hit(route, next++);
    };
    const bytes = await allocatedBy(async () => {
      await Promise.all(Array.from({ length: 8 }, worker));
      await service.flush(10_000);
      while (rawPending > 0) await new Promise((resolve) => setImmediate(resolve));
    }, `${platform} ${route}`);
    return { route, bytesPerRequest: bytes / COUNT };
  };
  // The raw-post phase hits the untracked route and posts from the load generator's side of the
  // process: same allocations as the app doing it on `finish`.
  const rows = [];
  for (const route of ['untracked', 'tracked', 'guard', 'raw-post', 'tracked-new']) {
    rows.push(await phase(route));
  }
  await app.close();
  await client.close();
  return rows;
}

async function measureQueue(standIn: ElevateStandIn) {
  standIn.respondWith(() => 'hang');
  const app = await NestFactory.createApplicationContext(
    EsalesModule.forRoot({
      clusterUrl: standIn.url,
      allowInsecureClusterUrl: true,
      defaultMarket: 'UK',
      concurrency: 1,
      shutdownTimeoutMs: 0,
    }),
    { logger: false },
  );
  const service = app.get(EsalesNotificationService);
  const count = 10_000;
  const notifications = Array.from({ length: count }, (_, i) => ({
    customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
    sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
    productKey: `product-${i}`,
    variantKey: `variant-${i}`,
  }));
  gc();
  const before = process.memoryUsage().heapUsed;
  for (const notification of notifications) service.enqueueNonEsalesClick(notification);
  gc();
  const after = process.memoryUsage().heapUsed;
  const queued = service.getStats().queued;
  await app.close();
  standIn.respondWith();
  return { queued, bytesPerQueuedNotification: (after - before) / count };
}

const standIn = await ElevateStandIn.start({ maxRecorded: 10 });
const results = {
  date: new Date().toISOString(),
  node: process.version,
  count: COUNT,
  express: await measureRoutes('express', standIn),
  fastify: await measureRoutes('fastify', standIn),
  queue: await measureQueue(standIn),
};
await standIn.close();
await rawAgent.close();
for (const platform of ['express', 'fastify'] as const) {
  const rows = results[platform];
  const base = rows[0]!.bytesPerRequest;
  for (const row of rows) {
    console.log(
      `${platform.padEnd(8)} ${row.route.padEnd(10)} ${(row.bytesPerRequest / 1024).toFixed(1).padStart(6)} KB/request` +
        ` (${row.route === 'untracked' ? 'baseline' : `${row.bytesPerRequest >= base ? '+' : '−'}${(Math.abs(row.bytesPerRequest - base) / 1024).toFixed(1)} KB`})`,
    );
  }
}
console.log(
  `queue: ${(results.queue.bytesPerQueuedNotification / 1024).toFixed(2)} KB per queued notification ` +
    `(${results.queue.queued} queued)`,
);
console.log(JSON.stringify(results));
