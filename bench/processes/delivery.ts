import { NestFactory } from '@nestjs/core';
import { Agent, request } from 'undici';
import { EsalesModule, EsalesNotificationService } from '../../lib/index.js';
import { serveCommands } from '../ipc.js';
import {
  registerSdkMeterProvider,
  type SdkMetricsOptions,
  type SdkMetricsUsage,
} from './otel-sdk.js';

/*
 * P4: the service's delivery against the cheapest possible client, both in this
 * process and against the same stand-in, so their CPU per notification compares directly.
 * - `service`: N notifications through `enqueueNonEsalesClick`, then `flush()`;
 * - `raw`: N `undici.request` keep-alive POSTs of an already serialised body, `concurrency` at a
 *   time (the service's default concurrency).
 */

export interface DeliveryOptions {
  transport: 'undici' | 'axios';
  clusterUrl: string;
  concurrency: number;
  maxQueueSize: number;
  /**
   * P11: a real OpenTelemetry SDK MeterProvider registered globally before the module boots, and
   * the module option `metrics` as `enabled` says (default: no SDK, `metrics` off).
   */
  sdkMetrics?: SdkMetricsOptions;
}

export interface Measured {
  count: number;
  wallMs: number;
  cpuMicros: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as DeliveryOptions;
const endpoint = `${options.clusterUrl}/api/v1/notifications/non-esales-click`;
// Before the module boots: the package takes its meter from the global provider then.
const sdk = options.sdkMetrics ? registerSdkMeterProvider(options.sdkMetrics) : undefined;

const app = await NestFactory.createApplicationContext(
  EsalesModule.forRoot({
    clusterUrl: options.clusterUrl,
    allowInsecureClusterUrl: true,
    defaultMarket: 'UK',
    transport: options.transport,
    concurrency: options.concurrency,
    maxQueueSize: options.maxQueueSize,
    ...(options.sdkMetrics ? { metrics: options.sdkMetrics.enabled } : {}),
  }),
  { logger: ['error', 'warn'] },
);
const service = app.get(EsalesNotificationService);
const agent = new Agent({ keepAliveTimeout: 10_000 });

const VISITOR = {
  market: 'UK',
  customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
  sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
};
const notificationOf = (i: number) => ({ ...VISITOR, productKey: `p${i}`, variantKey: null });
const bodyOf = (i: number) =>
  JSON.stringify({ ...VISITOR, id: crypto.randomUUID(), productKey: `p${i}`, variantKey: null });

function measure(run: () => Promise<number>): Promise<Measured> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  return run().then((count) => {
    const used = process.cpuUsage(cpu);
    return { count, wallMs: performance.now() - started, cpuMicros: used.user + used.system };
  });
}

async function rawPost(body: string): Promise<void> {
  const response = await request(endpoint, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
    dispatcher: agent,
  });
  await response.body.dump();
  if (response.statusCode !== 204) throw new Error(`raw POST answered ${response.statusCode}`);
}

async function serviceRun(count: number): Promise<Measured> {
  // Built outside the measurement, as the app hands them over: plain objects, no ids yet.
  const notifications = Array.from({ length: count }, (_, i) => notificationOf(i));
  const before = service.getStats().sent;
  const measured = await measure(async () => {
    for (const notification of notifications) service.enqueueNonEsalesClick(notification);
    if (!(await service.flush(120_000))) throw new Error('the service did not drain in 120 s');
    return service.getStats().sent - before;
  });
  if (measured.count !== count) throw new Error(`sent ${measured.count} of ${count}`);
  return measured;
}

async function rawRun(count: number): Promise<Measured> {
  const bodies = Array.from({ length: count }, (_, i) => bodyOf(i));
  let next = 0;
  const worker = async () => {
    while (next < count) await rawPost(bodies[next++]!);
  };
  return measure(async () => {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    return count;
  });
}

serveCommands(
  {
    service: (n) => serviceRun(Number(n)),
    raw: (n) => rawRun(Number(n)),
    /** With `sdkMetrics`: what the SDK's reader has exported so far. */
    otel: (): SdkMetricsUsage | undefined => sdk?.usage(),
    close: async () => {
      await Promise.all([app.close(), agent.close()]);
      await sdk?.shutdown();
      setImmediate(() => process.exit(0));
    },
  },
  {},
);
