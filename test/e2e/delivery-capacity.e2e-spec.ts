import { afterEach, describe, expect, it } from '@jest/globals';
import type {
  EsalesModuleOptions,
  EsalesTransportName,
} from '../../lib/config/esales-options.interface.js';
import type { EsalesStats } from '../../lib/delivery/esales-stats.interface.js';
import { EsalesModule } from '../../lib/esales.module.js';
import { EsalesNotificationService } from '../../lib/esales-notification.service.js';
import {
  ElevateStandIn,
  type ElevateStandInOptions,
  type StandInRequest,
  type StandInResponder,
} from '../../lib/testing/elevate-stand-in.js';
import { boot } from '../support/boot.js';

/*
 * Delivery capacity end to end: a real app, real sockets, a stand-in that answers late, fails half
 * its answers or serves only a few requests at once. Assertions are on counts and on what the
 * stand-in saw (its own in-flight maximum, its log), never on wall-clock figures, so they hold on a
 * loaded 2-core machine. The timings only shape the load: latency × rate well above what 16 in
 * flight (the fixed concurrency before 'adaptive') could carry within the 15 s budget.
 */

const VISITOR = {
  customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
  sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
};
const click = (n: number | string) => ({ ...VISITOR, id: `n-${n}`, productKey: `p-${n}` });
const idOf = (request: StandInRequest): string => (request.body as { id: string }).id;
/** Elevate's own answer, given after `ms`. */
const late =
  (ms: number): StandInResponder =>
  (_, elevate) => {
    const answer = elevate();
    return typeof answer === 'object' ? { ...answer, delayMs: ms } : answer;
  };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it is true; fails with `what` after `timeoutMs`. */
async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

async function rig(
  options: Partial<EsalesModuleOptions> = {},
  standInOptions: ElevateStandInOptions = {},
) {
  const standIn = await ElevateStandIn.start({ maxRecorded: 100_000, ...standInOptions });
  closers.push(() => standIn.close());
  const { app } = await boot([
    EsalesModule.forRoot({
      clusterUrl: standIn.url,
      allowInsecureClusterUrl: true,
      defaultMarket: 'UK',
      ...options,
    }),
  ]);
  closers.push(() => app.close());
  return { standIn, service: app.get(EsalesNotificationService) };
}

/**
 * Enqueues `rate` notifications per second for `seconds`, in 10 ms ticks, catching up after a late
 * tick so the total is exact however loaded the machine is. Resolves with the count.
 */
async function arrive(
  service: EsalesNotificationService,
  rate: number,
  seconds: number,
): Promise<number> {
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    for (; sent < due; sent++) service.enqueueNonEsalesClick(click(sent));
    await sleep(10);
  }
  return total;
}

function expectAllDelivered(stats: EsalesStats, total: number): void {
  expect({
    enqueued: stats.enqueued,
    sent: stats.sent,
    dropped: stats.dropped,
    expired: stats.expired,
    failed: stats.failed,
    queued: stats.queued,
    retrying: stats.retrying,
    inFlight: stats.inFlight,
  }).toEqual({
    enqueued: total,
    sent: total,
    dropped: 0,
    expired: 0,
    failed: 0,
    queued: 0,
    retrying: 0,
    inFlight: 0,
  });
}

describe('delivery capacity with default options', () => {
  it.each([
    // [latency ms, arrivals per second, seconds]: 16 in flight would carry 64/s and 320/s.
    [250, 500, 2],
    [50, 2_000, 2.5],
  ])(
    'delivers every click when the cluster answers after %i ms and clicks arrive at %i/s',
    async (latencyMs, rate, seconds) => {
      const { standIn, service } = await rig();
      standIn.respondWith(late(latencyMs));
      const total = await arrive(service, rate, seconds);
      expect(await service.flush(20_000)).toBe(true);
      const stats = service.getStats();
      expectAllDelivered(stats, total);
      expect(new Set(standIn.accepted.map(idOf)).size).toBe(total);
      // More than the 16 a fixed limit allowed were in flight, and the limit said so.
      expect(standIn.maxInFlight).toBeGreaterThan(16);
      expect(stats.concurrencyLimit).toBeGreaterThan(16);
      expect(stats.latencyBaselineMs).toBeGreaterThanOrEqual(latencyMs);
      expect(Object.keys(stats.clusters)).toEqual([standIn.url]);
    },
    30_000,
  );

  it('delivers every notification exactly once when every second answer is a 503', async () => {
    const { standIn, service } = await rig({ retryBaseDelayMs: 20, retryMaxDelayMs: 500 });
    let count = 0;
    standIn.respondWith(() => (count++ % 2 === 0 ? { status: 503, body: 'busy' } : undefined));
    const total = 400;
    for (let i = 0; i < total; i++) service.enqueueNonEsalesClick(click(i));
    expect(await service.flush(20_000)).toBe(true);
    const stats = service.getStats();
    expectAllDelivered(stats, total);
    const accepted = standIn.accepted.map(idOf);
    expect(accepted).toHaveLength(total);
    expect(new Set(accepted).size).toBe(total);
    // Every attempt beyond the first was a retry of one of those 503s.
    expect(stats.retried).toBe(standIn.requests.length - total);
  }, 30_000);
});

describe.each<EsalesTransportName>(['undici', 'axios'])('with the %s transport', (transport) => {
  it('honours a fixed concurrency exactly', async () => {
    const { standIn, service } = await rig({ transport, concurrency: 4 });
    standIn.respondWith(() => ({ status: 204, delayMs: 50 }));
    for (let i = 0; i < 40; i++) service.enqueueNonEsalesClick(click(i));
    expect(await service.flush(10_000)).toBe(true);
    expect(standIn.maxInFlight).toBe(4);
    expect(service.getStats()).toMatchObject({
      sent: 40,
      concurrencyLimit: 4,
      latencyBaselineMs: null,
    });
  });

  it('brings the limit down against a cluster that serves only a few requests at once', async () => {
    const { standIn, service } = await rig(
      { transport, minConcurrency: 2, maxConcurrency: 256 },
      { capacity: 4 },
    );
    standIn.respondWith(() => ({ status: 204, delayMs: 20 }));
    await arrive(service, 500, 1);
    expect(await service.flush(20_000)).toBe(true);
    const stats = service.getStats();
    expect(stats.sent).toBe(stats.enqueued);
    // It started at 4 (twice the floor) and grew at first; latency at the cluster pulled it back.
    expect(stats.concurrencyLimit).toBeLessThan(16);
    expect(stats.latencyBaselineMs).toBeGreaterThanOrEqual(20);
  }, 30_000);

  it('gives the slot back while a notification sleeps before its retry', async () => {
    const { standIn, service } = await rig({
      transport,
      concurrency: 1,
      retryBaseDelayMs: 1_500,
      retryMaxDelayMs: 1_500,
    });
    let first = true;
    standIn.respondWith((request) => {
      if (first && idOf(request) === 'n-slow') {
        first = false;
        return { status: 503, body: 'busy' };
      }
      return undefined;
    });
    service.enqueueNonEsalesClick(click('slow'));
    service.enqueueNonEsalesClick(click('next'));
    expect(await service.flush(10_000)).toBe(true);
    // With one slot, "next" went out while "slow" was waiting out its backoff.
    expect(standIn.requests.map(idOf)).toEqual(['n-slow', 'n-next', 'n-slow']);
    expect(service.getStats()).toMatchObject({ sent: 2, retried: 1 });
  });

  it('holds back every attempt to the cluster while a 429 with Retry-After runs', async () => {
    const { standIn, service } = await rig({ transport, retryMaxDelayMs: 2_000 });
    let first = true;
    standIn.respondWith(() => {
      if (!first) return undefined;
      first = false;
      return { status: 429, body: 'slow down', headers: { 'Retry-After': '1' } };
    });
    service.enqueueNonEsalesClick(click(0));
    await until('the 429 to be read', () => service.getStats().retrying === 1);
    for (let i = 1; i <= 5; i++) service.enqueueNonEsalesClick(click(i));
    await sleep(300);
    // Queued after the 429: none went out while the hold lasts.
    expect(standIn.requests).toHaveLength(1);
    const held = service.getStats().clusters[standIn.url];
    expect(held?.heldUntil).toBeGreaterThan(Date.now());
    expect(await service.flush(10_000)).toBe(true);
    const [refused, ...rest] = standIn.requests;
    expect(rest).toHaveLength(6);
    for (const request of rest) {
      expect(request.receivedAt.getTime() - refused!.receivedAt.getTime()).toBeGreaterThanOrEqual(
        950,
      );
    }
    expect(service.getStats().clusters[standIn.url]?.heldUntil).toBeNull();
  });
});

describe('one limit and one breaker per cluster', () => {
  it('keeps delivering to one market while the other market’s cluster hangs', async () => {
    const slow = await ElevateStandIn.start();
    const fast = await ElevateStandIn.start();
    closers.push(
      () => slow.close(),
      () => fast.close(),
    );
    slow.respondWith(() => 'hang');
    const { app } = await boot([
      EsalesModule.forRoot({
        allowInsecureClusterUrl: true,
        defaultMarket: 'UK',
        concurrency: 2,
        requestTimeoutMs: 5_000,
        // The hanging cluster's notifications are abandoned at close instead of drained for 5 s.
        shutdownTimeoutMs: 100,
        markets: { UK: { clusterUrl: slow.url }, SE: { clusterUrl: fast.url } },
      }),
    ]);
    closers.push(() => app.close());
    const service = app.get(EsalesNotificationService);
    for (let i = 0; i < 4; i++)
      service.enqueueNonEsalesClick({ ...click(`uk-${i}`), market: 'UK' });
    for (let i = 0; i < 20; i++)
      service.enqueueNonEsalesClick({ ...click(`se-${i}`), market: 'SE' });
    await until('the SE cluster to be idle', () => service.getStats().sent === 20);
    const { clusters } = service.getStats();
    expect(clusters[slow.url]).toMatchObject({ inFlight: 2, queued: 2, concurrencyLimit: 2 });
    expect(clusters[fast.url]).toMatchObject({ inFlight: 0, queued: 0, concurrencyLimit: 2 });
    expect(fast.accepted).toHaveLength(20);
    expect(service.getStats().concurrencyLimit).toBe(4);
  });
});
