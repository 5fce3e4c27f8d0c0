import { NestFactory } from '@nestjs/core';
import { EsalesModule, EsalesNotificationService } from '../../lib/index.js';
import type { EsalesModuleOptions } from '../../lib/index.js';
import { serveCommands } from '../ipc.js';

/*
 * P7–P9's app: `EsalesNotificationService` with the options under test, fed notifications at a
 * fixed rate (in 5 ms ticks that catch up after a late one, so the count is exact however loaded
 * the machine is), sampling its stats as it goes.
 */

export interface CapacityRun {
  rate: number;
  seconds: number;
  /** How long to wait for the queue to drain after the last arrival. */
  drainMs: number;
}

export interface CapacityOutcome {
  enqueued: number;
  sent: number;
  dropped: number;
  expired: number;
  failed: number;
  retried: number;
  drained: boolean;
  /** Most notifications waiting at once (queued + retrying). */
  peakWaiting: number;
  peakLimit: number;
  finalLimit: number;
  baselineMs: number | null;
  /** Delivered per second from the end of the first second to the last arrival. */
  deliveredPerSecond: number;
  /** Epoch milliseconds one second into the run (for the stand-in's steady-state latencies). */
  steadyFromMs: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as EsalesModuleOptions;
const app = await NestFactory.createApplicationContext(EsalesModule.forRoot(options), {
  logger: ['error', 'warn'],
});
const service = app.get(EsalesNotificationService);
const VISITOR = {
  customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
  sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run({ rate, seconds, drainMs }: CapacityRun): Promise<CapacityOutcome> {
  const total = Math.round(rate * seconds);
  let peakWaiting = 0;
  let peakLimit = 0;
  const sample = () => {
    const stats = service.getStats();
    peakWaiting = Math.max(peakWaiting, stats.queued + stats.retrying);
    peakLimit = Math.max(peakLimit, stats.concurrencyLimit);
  };
  const sampler = setInterval(sample, 50);
  const start = performance.now();
  let sentAtOneSecond: number | undefined;
  let steadyFromMs = Date.now();
  let arrived = 0;
  while (arrived < total) {
    const elapsed = performance.now() - start;
    if (sentAtOneSecond === undefined && elapsed >= 1_000) {
      sentAtOneSecond = service.getStats().sent;
      steadyFromMs = Date.now();
    }
    const due = Math.min(total, Math.floor((elapsed / 1000) * rate) + 1);
    for (; arrived < due; arrived++) {
      service.enqueueNonEsalesClick({ ...VISITOR, productKey: `p${arrived}`, variantKey: null });
    }
    await sleep(5);
  }
  const arrivalsEnd = performance.now();
  const sentAtEnd = service.getStats().sent;
  const drained = await service.flush(drainMs);
  clearInterval(sampler);
  sample();
  const stats = service.getStats();
  const steadySeconds = (arrivalsEnd - start) / 1000 - 1;
  return {
    enqueued: stats.enqueued,
    sent: stats.sent,
    dropped: stats.dropped,
    expired: stats.expired,
    failed: stats.failed,
    retried: stats.retried,
    drained,
    peakWaiting,
    peakLimit,
    finalLimit: stats.concurrencyLimit,
    baselineMs: stats.latencyBaselineMs,
    deliveredPerSecond:
      steadySeconds > 0 ? (sentAtEnd - (sentAtOneSecond ?? 0)) / steadySeconds : Number.NaN,
    steadyFromMs,
  };
}

serveCommands(
  {
    run: (args) => run(args as CapacityRun),
    close: async () => {
      await app.close();
      setImmediate(() => process.exit(0));
    },
  },
  {},
);
