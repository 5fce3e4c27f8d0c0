/*
 * One app instance for the multi-process tests (test/support/app-instances.ts): a real Nest app on
 * Express whose EsalesModule is configured purely from the environment (esalesOptionsFromEnv), so a
 * test runs several of them against the same Elevate stand-in (and, with the BullMQ backend, the
 * same Redis) exactly as a deployment would. Everything it logs goes to stdout, which the harness
 * captures; when it listens it prints one line `LISTENING <port>`.
 *
 * Imports lib/ relatively, so the compiled bundle (.test-build/…) runs the compiled lib next to it.
 *
 * Environment: the ESALES_* variables; PORT (0: any free port); INSTANCE_LOG_LEVELS, a comma list of
 * Nest log levels (default log,warn,error,fatal); INSTANCE_BULLMQ_STALLED_INTERVAL_MS and
 * INSTANCE_BULLMQ_LOCK_DURATION_MS, test-only overrides of `bullmq.stalledIntervalMs` and
 * `bullmq.lockDurationMs` (no ESALES_* variable sets them), so a kill test need not wait out
 * BullMQ's 30 s defaults.
 */
import 'reflect-metadata';
import {
  ConsoleLogger,
  Controller,
  Get,
  HttpCode,
  Module,
  Post,
  Query,
  Redirect,
  BadRequestException,
  Param,
  type LogLevel,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import {
  EsalesModule,
  EsalesNotificationService,
  TrackNonEsalesClick,
  esalesOptionsFromEnv,
  type EsalesStats,
} from '../../../lib/index.js';

/** The visitor of every notification the test routes send. */
export const INSTANCE_CUSTOMER_KEY = '6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f';
export const INSTANCE_SESSION_KEY = 'a7b8c9d0-e1f2-4a3b-8c4d-5e6f7a8b9c0d';

const LOG_LEVELS: readonly LogLevel[] = ['log', 'error', 'warn', 'debug', 'verbose', 'fatal'];

/** Nest's console logger, but every level on stdout (errors too), so one stream holds it all. */
class StdoutLogger extends ConsoleLogger {
  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
    params?: Record<string, unknown>,
  ): void {
    super.printMessages(messages, context, logLevel, 'stdout', errorStack, params);
  }

  protected override printStackTrace(stack: string): void {
    if (stack) process.stdout.write(`${stack}\n`);
  }
}

function logLevelsFrom(value: string | undefined): LogLevel[] {
  const levels = (value ?? 'log,warn,error,fatal')
    .split(',')
    .map((level) => level.trim())
    .filter(Boolean);
  for (const level of levels) {
    if (!(LOG_LEVELS as readonly string[]).includes(level)) {
      throw new Error(`INSTANCE_LOG_LEVELS: "${level}" is not one of ${LOG_LEVELS.join(', ')}`);
    }
  }
  return levels as LogLevel[];
}

function portFrom(value: string | undefined): number {
  const port = Number(value?.trim() || 0);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`PORT must be a whole number from 0 to 65535; got "${value}"`);
  }
  return port;
}

/** A whole number of milliseconds from a test-only variable; undefined when it is not set. */
function millisFrom(name: string): number | undefined {
  const raw = process.env[name]?.trim();
  if (!raw) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive whole number of milliseconds; got "${raw}"`);
  }
  return value;
}

/** The module's options: the environment's, plus the test-only BullMQ stall settings when set. */
function moduleOptions(): ReturnType<typeof esalesOptionsFromEnv> {
  const fromEnv = esalesOptionsFromEnv(process.env);
  const stalledIntervalMs = millisFrom('INSTANCE_BULLMQ_STALLED_INTERVAL_MS');
  const lockDurationMs = millisFrom('INSTANCE_BULLMQ_LOCK_DURATION_MS');
  if (stalledIntervalMs === undefined && lockDurationMs === undefined) return fromEnv;
  // The spread keeps esalesOptionsFromEnv's (enumerable) marker: messages still name variables.
  return {
    ...fromEnv,
    bullmq: {
      ...fromEnv.bullmq,
      ...(stalledIntervalMs !== undefined ? { stalledIntervalMs } : {}),
      ...(lockDurationMs !== undefined ? { lockDurationMs } : {}),
    },
  };
}

function countFrom(value: string | undefined): number {
  const count = Number(value ?? 1);
  if (!Number.isInteger(count) || count < 0 || count > 1_000_000) {
    throw new BadRequestException('count must be a whole number from 0 to 1000000');
  }
  return count;
}

@Controller('products')
class ProductsController {
  /** A product link: answers 302 to the product page; click tracking queues a non-esales-click. */
  @Get(':productKey/redirect')
  @Redirect()
  @TrackNonEsalesClick({ productKey: { param: 'productKey' } })
  redirect(@Param('productKey') productKey: string): { url: string } {
    return { url: `/products/${encodeURIComponent(productKey)}` };
  }
}

/** Routes for the tests only: drive the service directly and read its state. */
@Controller('_test')
class TestRoutesController {
  constructor(private readonly esales: EsalesNotificationService) {}

  /** Sends one notification and waits for the outcome. */
  @Post('send')
  @HttpCode(200)
  async send(
    @Query('kind') kind: string | undefined,
    @Query('productKey') productKey: string | undefined,
    @Query('customerKey') customerKey: string | undefined,
    @Query('sessionKey') sessionKey: string | undefined,
  ): Promise<{ ok: true } | { ok: false; error: string; message: string }> {
    if (kind !== 'nonEsalesClick') {
      throw new BadRequestException('kind must be nonEsalesClick');
    }
    try {
      await this.esales.sendNonEsalesClick({
        productKey: productKey ?? 'product-1',
        customerKey: customerKey ?? INSTANCE_CUSTOMER_KEY,
        sessionKey: sessionKey ?? INSTANCE_SESSION_KEY,
      });
      return { ok: true };
    } catch (error) {
      const { name, message } =
        error instanceof Error ? error : { name: 'Error', message: String(error) };
      return { ok: false, error: name, message };
    }
  }

  /** Queues `count` non-esales-clicks (product keys `<prefix>-0` …); answers how many were taken. */
  @Post('enqueue')
  @HttpCode(200)
  enqueue(
    @Query('count') count: string | undefined,
    @Query('prefix') prefix: string | undefined,
  ): { queued: number } {
    const total = countFrom(count);
    const keyPrefix = prefix ?? 'product';
    let queued = 0;
    for (let i = 0; i < total; i++) {
      // The service's enqueue…() returns void (the pipeline's boolean is not passed on): should it
      // ever return one, only `false` counts as refused.
      const taken: unknown = this.esales.enqueueNonEsalesClick({
        productKey: `${keyPrefix}-${i}`,
        customerKey: INSTANCE_CUSTOMER_KEY,
        sessionKey: INSTANCE_SESSION_KEY,
      });
      if (taken !== false) queued++;
    }
    return { queued };
  }

  /**
   * Queues one minimal valid payment, with `dedupeKey` when given. Its one line's `productKey` is
   * `id` (default `product-1`): payments have no id of their own in Elevate's API, so that is what
   * tells them apart at the stand-in (`body.lines[0].productKey`).
   */
  @Post('payment')
  @HttpCode(200)
  payment(
    @Query('dedupeKey') dedupeKey: string | undefined,
    @Query('id') id: string | undefined,
  ): { queued: boolean } {
    const taken: unknown = this.esales.enqueuePayment(
      {
        customerKey: INSTANCE_CUSTOMER_KEY,
        sessionKey: INSTANCE_SESSION_KEY,
        lines: [{ productKey: id || 'product-1', quantity: 1, sellingPrice: 100 }],
      },
      dedupeKey ? { dedupeKey } : undefined,
    );
    return { queued: taken !== false };
  }

  @Get('stats')
  stats(): EsalesStats {
    return this.esales.getStats();
  }

  /** Waits (up to 5 s) until every queued notification has an outcome. */
  @Post('flush')
  @HttpCode(200)
  async flush(): Promise<{ idle: boolean }> {
    return { idle: await this.esales.flush(5_000) };
  }
}

@Module({
  imports: [EsalesModule.forRoot(moduleOptions())],
  controllers: [ProductsController, TestRoutesController],
})
class InstanceModule {}

const port = portFrom(process.env['PORT']);
const logger = new StdoutLogger('Instance', {
  colors: false,
  logLevels: logLevelsFrom(process.env['INSTANCE_LOG_LEVELS']),
});
const app = await NestFactory.create(InstanceModule, { logger });
// SIGTERM closes the app (the HTTP server, then the module's drain), as in a deployment.
app.enableShutdownHooks();
await app.listen(port, '127.0.0.1');
const address = (app.getHttpServer() as { address(): AddressInfo | string | null }).address();
const listening = typeof address === 'object' && address !== null ? address.port : port;
// The harness waits for this line.
process.stdout.write(`LISTENING ${listening}\n`);
