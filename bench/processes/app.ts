import {
  Controller,
  Get,
  Module,
  Param,
  Redirect,
  Res,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import axios from 'axios';
import { Agent, request } from 'undici';
import { EsalesModule, EsalesNotificationService, TrackNonEsalesClick } from '../../lib/index.js';
import { serveCommands } from '../ipc.js';
import {
  registerSdkMeterProvider,
  type SdkMetricsOptions,
  type SdkMetricsUsage,
} from './otel-sdk.js';

/*
 * The app under test, alone in its process so `process.cpuUsage()` is its CPU and nothing else's.
 * Three routes answer the same 302:
 * - `/untracked/:productKey/redirect`: a bare Nest redirect, the baseline;
 * - `/tracked/:productKey/redirect`: the same with `@TrackNonEsalesClick`;
 * - `/naive/:productKey/redirect`: what users write by hand without the package, a handler that
 *   awaits `axios.post` to the cluster before redirecting (P2's contrast);
 * - `/raw-post/:productKey/redirect`: the untracked redirect plus a raw `undici.request` POST of a
 *   ready-made body (the baseline the measure names), fired when the response has gone out, as the
 *   interceptor does. Its CPU above the untracked route's is P3's yardstick: one POST at the same
 *   arrival rate, in the same process, with the same wake-ups.
 */

export interface AppUnderTestOptions {
  platform: 'express' | 'fastify';
  transport: 'undici' | 'axios';
  clusterUrl: string;
  /** Only the smoke run shortens it, so its outage recovers within seconds. */
  breakerCooldownMs?: number;
  /** P10: the BullMQ delivery backend (default: the in-memory engine). */
  bullmq?: { redisUrl: string; queueName: string; worker: boolean };
  /** P10: room for a burst, the same for both backends. */
  maxQueueSize?: number;
  /**
   * P11: a real OpenTelemetry SDK MeterProvider registered globally before the module boots, and
   * the module option `metrics` as `enabled` says (default: no SDK, `metrics` off).
   */
  sdkMetrics?: SdkMetricsOptions;
}

export interface AppUsage {
  /** `process.cpuUsage()` (user + system), in microseconds. */
  cpuMicros: number;
  rss: number;
  heapUsed: number;
  stats: ReturnType<EsalesNotificationService['getStats']>;
  /** With `sdkMetrics`: what the SDK's reader has exported. */
  otel?: SdkMetricsUsage;
}

const options = JSON.parse(process.argv[2] ?? '{}') as AppUnderTestOptions;
// Before the module boots: the package takes its meter from the global provider then.
const sdk = options.sdkMetrics ? registerSdkMeterProvider(options.sdkMetrics) : undefined;
const naiveUrl = `${options.clusterUrl}/api/v1/notifications/non-esales-click`;
const target = (productKey: string) => ({ url: `/products/${encodeURIComponent(productKey)}` });

const rawAgent = new Agent();
const rawBody = JSON.stringify({
  market: 'UK',
  customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
  sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
  id: 'a7f3c1de-55c4-4b8e-9d0e-3f1f2b6c9e10',
  productKey: 'p',
  variantKey: null,
});
let rawPending = 0;
let rawIdle: (() => void)[] = [];
function rawPost(): void {
  rawPending++;
  const done = () => {
    if (--rawPending > 0) return;
    for (const idle of rawIdle) idle();
    rawIdle = [];
  };
  request(naiveUrl, {
    method: 'POST',
    body: rawBody,
    headers: { 'content-type': 'application/json' },
    dispatcher: rawAgent,
  }).then((response) => response.body.dump().then(done, done), done);
}
const rawSettled = () =>
  rawPending === 0 ? Promise.resolve() : new Promise<void>((resolve) => rawIdle.push(resolve));

@Controller()
class RedirectController {
  @Get('untracked/:productKey/redirect')
  @Redirect()
  untracked(@Param('productKey') productKey: string) {
    return target(productKey);
  }

  @Get('tracked/:productKey/redirect')
  @Redirect()
  @TrackNonEsalesClick({ productKey: 'productKey' })
  tracked(@Param('productKey') productKey: string) {
    return target(productKey);
  }

  @Get('raw-post/:productKey/redirect')
  @Redirect()
  rawPost(
    @Param('productKey') productKey: string,
    @Res({ passthrough: true }) response: { raw?: NodeJS.EventEmitter } & NodeJS.EventEmitter,
  ) {
    (response.raw ?? response).once('finish', rawPost);
    return target(productKey);
  }

  @Get('naive/:productKey/redirect')
  @Redirect()
  async naive(@Param('productKey') productKey: string) {
    await axios.post(naiveUrl, {
      market: 'UK',
      customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
      sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
      id: crypto.randomUUID(),
      productKey,
      variantKey: null,
    });
    return target(productKey);
  }
}

@Module({
  imports: [
    EsalesModule.forRoot({
      clusterUrl: options.clusterUrl,
      allowInsecureClusterUrl: true,
      defaultMarket: 'UK',
      transport: options.transport,
      ...(options.breakerCooldownMs ? { breakerCooldownMs: options.breakerCooldownMs } : {}),
      ...(options.maxQueueSize ? { maxQueueSize: options.maxQueueSize } : {}),
      ...(options.bullmq ? { delivery: 'bullmq' as const, bullmq: options.bullmq } : {}),
      ...(options.sdkMetrics ? { metrics: options.sdkMetrics.enabled } : {}),
    }),
  ],
  controllers: [RedirectController],
})
class BenchAppModule {}

const logger = ['error', 'warn'] as const;
const app: INestApplication =
  options.platform === 'fastify'
    ? await NestFactory.create(BenchAppModule, new FastifyAdapter(), { logger: [...logger] })
    : await NestFactory.create(BenchAppModule, { logger: [...logger] });
await app.listen(0, '127.0.0.1');
const notifications = app.get(EsalesNotificationService);

const gc = (globalThis as { gc?: () => void }).gc;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const VISITOR = {
  customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
  sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
};

/** Every notification enqueued here has an outcome (with BullMQ: from this instance's workers). */
function settledHere(): boolean {
  const s = notifications.getStats();
  const outcomes = s.sent + s.rejected + s.dropped + s.expired + s.failed;
  return outcomes >= s.enqueued && s.queued === 0 && s.retrying === 0 && s.inFlight === 0;
}

serveCommands(
  {
    /** CPU so far, memory (after a full GC when asked and `--expose-gc` is on) and the queue's stats. */
    usage: (args): AppUsage => {
      if ((args as { gc?: boolean } | undefined)?.gc) gc?.();
      const cpu = process.cpuUsage();
      const memory = process.memoryUsage();
      return {
        cpuMicros: cpu.user + cpu.system,
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        stats: notifications.getStats(),
        ...(sdk ? { otel: sdk.usage() } : {}),
      };
    },
    /** Waits for the queue (and the raw route's POSTs) to settle. */
    flush: async (timeoutMs) => {
      const drained = await notifications.flush(Number(timeoutMs ?? 60_000));
      await rawSettled();
      return drained;
    },
    /**
     * P10: waits until every notification enqueued here has an outcome, so a phase's CPU includes
     * its deliveries (with BullMQ `flush` only waits for the write to Redis; the local worker's part
     * comes after). Polls every 5 ms.
     */
    settle: async (timeoutMs) => {
      const deadline = Date.now() + Number(timeoutMs ?? 60_000);
      await notifications.flush(Number(timeoutMs ?? 60_000));
      while (!settledHere()) {
        if (Date.now() > deadline) return false;
        await sleep(5);
      }
      return true;
    },
    /**
     * P10: `count` clicks through `enqueueNonEsalesClick`, `chunk` per macrotask (a burst of
     * requests, not one synchronous loop); resolves once all are enqueued.
     */
    enqueue: async (args) => {
      const { count, chunk } = args as { count: number; chunk: number };
      for (let i = 0; i < count;) {
        for (const end = Math.min(count, i + chunk); i < end; i++) {
          notifications.enqueueNonEsalesClick({
            ...VISITOR,
            productKey: `p${i}`,
            variantKey: null,
          });
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      return count;
    },
    close: async () => {
      await Promise.all([app.close(), rawAgent.close()]);
      await sdk?.shutdown();
      setImmediate(() => process.exit(0));
    },
  },
  { url: await app.getUrl() },
);
