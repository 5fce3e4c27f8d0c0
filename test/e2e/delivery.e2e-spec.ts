import * as fsp from 'node:fs/promises';
import { afterEach, describe, expect, it } from '@jest/globals';
import { CustomerKeyAuthenticationService } from '../../lib/auth/customer-key-authentication.service.js';
import type {
  EsalesModuleOptions,
  EsalesTransportName,
} from '../../lib/config/esales-options.interface.js';
import type {
  EsalesDeliveryEvent,
  EsalesDropReason,
} from '../../lib/delivery/esales-delivery-hooks.interface.js';
import type { EsalesBreakerState, EsalesStats } from '../../lib/delivery/esales-stats.interface.js';
import { EsalesBadRequestError } from '../../lib/errors/esales-bad-request.error.js';
import { EsalesCustomerKeyRejectedError } from '../../lib/errors/esales-customer-key-rejected.error.js';
import type { EsalesDeliveryError } from '../../lib/errors/esales.error.js';
import { EsalesServerError } from '../../lib/errors/esales-server.error.js';
import { EsalesTimeoutError } from '../../lib/errors/esales-timeout.error.js';
import { EsalesUndeliveredError } from '../../lib/errors/esales-undelivered.error.js';
import { ElevateStandIn, type StandInRequest } from '../../lib/testing/elevate-stand-in.js';
import type { CaptureLogger } from '../support/capture-logger.js';
import { testApp, type TestApp } from '../support/test-app.js';

/*
 * The delivery engine end to end: real sockets to a local Elevate stand-in, real timers, small
 * option values so the file stays fast. Timing assertions are lower bounds or generous upper bounds
 * only, so they hold on a loaded machine.
 *
 * Unhandled rejections: Jest 30's circus runner already fails the test (or hook) during which one
 * happens, and reports those outside any test as a suite failure, for every test file. A
 * `process.on('unhandledRejection')` collector in a test file would never fire: the test's `process`
 * is a copy whose listeners are not the real process's. So there is no collector here.
 */

const PRIVATE_KEY = 'delivery-spec-private-key';
const TRANSPORTS: readonly EsalesTransportName[] = ['undici', 'axios'];
const VISITOR = {
  customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
  sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
};

/** Small values for every test; each test overrides what it is about. */
const FAST: Partial<EsalesModuleOptions> = {
  // Generous, so a loaded machine never times out a request the stand-in answered (which would
  // legitimately deliver it twice); tests of hanging clusters set 300.
  requestTimeoutMs: 2_000,
  retryBaseDelayMs: 20,
  retryMaxDelayMs: 200,
  deliveryTimeoutMs: 3_000,
  maxAttempts: 10,
  // High unless a test is about the breaker: consecutive failures must not stall unrelated tests.
  breakerThreshold: 10_000,
  breakerCooldownMs: 250,
  shutdownTimeoutMs: 1_000,
};

const click = (n: number | string, extra: Record<string, unknown> = {}) => ({
  ...VISITOR,
  id: `n-${n}`,
  productKey: `p-${n}`,
  ...extra,
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it is true; fails with `what` after `timeoutMs`. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000) {
  const end = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** At rest, every enqueued notification has exactly one outcome. */
function expectInvariant(stats: EsalesStats): void {
  expect({ queued: stats.queued, inFlight: stats.inFlight }).toEqual({ queued: 0, inFlight: 0 });
  expect(stats.sent + stats.rejected + stats.dropped + stats.expired + stats.failed).toBe(
    stats.enqueued,
  );
  expect(stats.abandoned).toBeLessThanOrEqual(stats.dropped);
}

const idOf = (request: StandInRequest): string => (request.body as { id: string }).id;

/** The rejection of `promise` (fails when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<EsalesDeliveryError> {
  try {
    await promise;
  } catch (error) {
    return error as EsalesDeliveryError;
  }
  throw new Error('expected the promise to reject');
}

/** Every logger of the file, checked for secrets by the last test. */
const allLogs: CaptureLogger[] = [];
/** Closers of what the current test opened, run (newest first) after it, even when it failed. */
const closers: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

interface Rig extends TestApp {
  warnings(pattern: RegExp): string[];
}

/**
 * A fresh stand-in and a fresh app pointed at it (stats start at zero): FAST under `options`, and
 * no private key unless they give one (which the stand-in then shares).
 */
async function rigWith(options: Partial<EsalesModuleOptions> = {}): Promise<Rig> {
  const t = await testApp({ moduleDefaults: true, options: { ...FAST, ...options } });
  closers.push(() => t.standIn.close(), t.closeApp);
  allLogs.push(t.logs);
  return {
    ...t,
    warnings: (pattern) =>
      t.logs.lines
        .filter((l) => l.level === 'warn' && pattern.test(l.message))
        .map((l) => l.message),
  };
}

// Every test runs once per transport: the engine must get the same outcomes from both.
describe.each(TRANSPORTS)('with the %s transport', (transport) => {
  const rig = (options: Partial<EsalesModuleOptions> = {}): Promise<Rig> =>
    rigWith({ transport, ...options });

  describe('delivery engine against a misbehaving Elevate stand-in', () => {
    it('delivers every notification exactly once when every second request gets a 503', async () => {
      const { standIn, service } = await rig({ concurrency: 4, maxAttempts: 20 });
      let count = 0;
      standIn.respondWith(() => (++count % 2 === 0 ? { status: 503, body: 'busy' } : undefined));
      const ids = new Set(Array.from({ length: 50 }, (_, i) => `n-${i}`));
      for (let i = 0; i < 50; i++) service.enqueueNonEsalesClick(click(i));

      expect(await service.flush(10_000)).toBe(true);
      const stats = service.getStats();
      expect(stats.sent).toBe(50);
      expect(stats.retried).toBeGreaterThan(0);
      // Each accepted id exactly once; every attempt was one of ours, with the same bytes each time.
      expect(standIn.accepted.map(idOf).sort()).toEqual([...ids].sort());
      const bodyById = new Map<string, string>();
      for (const request of standIn.requests) {
        expect(ids.has(idOf(request))).toBe(true);
        const earlier = bodyById.get(idOf(request));
        if (earlier !== undefined) expect(request.rawBody).toBe(earlier);
        bodyById.set(idOf(request), request.rawBody);
      }
      // One recorded request per attempt: 50 firsts plus the retries, the retries being the 503s.
      expect(standIn.requests).toHaveLength(50 + stats.retried);
      expect(standIn.requests.filter((r) => r.status === 503)).toHaveLength(stats.retried);
      expect(stats.breaker).toBe('closed');
      expectInvariant(stats);
    });

    it('retries a cluster that never answers, then expires within deliveryTimeoutMs', async () => {
      const deliveryTimeoutMs = 1_500;
      const { standIn, service, warnings } = await rig({
        deliveryTimeoutMs,
        requestTimeoutMs: 300,
      });
      standIn.respondWith(() => 'hang');
      const started = performance.now();
      const error = await rejectionOf(service.sendNonEsalesClick(click('hang')));
      const elapsed = performance.now() - started;

      expect(error).toBeInstanceOf(EsalesUndeliveredError);
      expect((error as EsalesUndeliveredError).reason).toBe('expired');
      expect(error.cause).toBeInstanceOf(EsalesTimeoutError);
      expect((error as EsalesUndeliveredError).attempts).toBeGreaterThanOrEqual(2);
      // Not before the budget minus one backoff (it gives up when the next wait would cross the
      // deadline), and not long after it.
      expect(elapsed).toBeGreaterThanOrEqual(deliveryTimeoutMs - 200 - 50);
      expect(elapsed).toBeLessThan(deliveryTimeoutMs + 1_500);
      // It retried: several attempts, all carrying the same id.
      expect(standIn.requests.length).toBeGreaterThanOrEqual(2);
      expect(new Set(standIn.requests.map(idOf))).toEqual(new Set(['n-hang']));

      expect(await service.flush()).toBe(true);
      const stats = service.getStats();
      expect(stats).toMatchObject({ enqueued: 1, expired: 1, sent: 0, failed: 0 });
      // At least one attempt per recorded request (an attempt may time out before the stand-in reads it).
      expect(stats.retried).toBeGreaterThanOrEqual(standIn.requests.length - 1);
      expect(warnings(/^Expired: /)).toHaveLength(1);
      expectInvariant(stats);
    });

    it('delivers after the first connections are reset mid-request', async () => {
      const { standIn, service } = await rig({ concurrency: 2 });
      let count = 0;
      standIn.respondWith(() => (++count <= 3 ? 'reset' : undefined));
      await Promise.all([1, 2, 3, 4, 5].map((n) => service.sendNonEsalesClick(click(n))));
      expect(await service.flush()).toBe(true);

      const stats = service.getStats();
      expect(stats.sent).toBe(5);
      expect(stats.retried).toBeGreaterThanOrEqual(3);
      expect(standIn.requests.slice(0, 3).map((r) => r.status)).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
      expect(standIn.accepted.map(idOf).sort()).toEqual(['n-1', 'n-2', 'n-3', 'n-4', 'n-5']);
      expectInvariant(stats);
    });

    it('holds the queue behind an open breaker while the cluster is down, then probes once', async () => {
      const { standIn, service, logs, warnings } = await rig({
        concurrency: 4,
        breakerThreshold: 3,
        breakerCooldownMs: 250,
        deliveryTimeoutMs: 6_000,
      });
      const port = Number(new URL(standIn.url).port);
      await standIn.close();
      const states = new Set<EsalesBreakerState>();
      const watch = setInterval(() => states.add(service.getStats().breaker), 2);
      try {
        const downSince = performance.now();
        for (let i = 0; i < 20; i++) service.enqueueNonEsalesClick(click(i));
        await until('the breaker to open', () => service.getStats().breaker === 'open');
        await sleep(500);
        // While open, the queue waits: beyond the first failures of the (4) deliveries in flight,
        // only about one probe per cooldown, instead of every delivery retrying on its own.
        const downMs = performance.now() - downSince;
        expect(service.getStats().retried).toBeLessThanOrEqual(4 + Math.ceil(downMs / 250) + 2);

        const back = await ElevateStandIn.start({ port });
        closers.push(() => back.close());
        let first = true;
        let recordedWhileProbing = -1;
        back.respondWith(async () => {
          if (first) {
            first = false;
            await sleep(200);
            recordedWhileProbing = back.requests.length;
          }
          return undefined;
        });

        expect(await service.flush(10_000)).toBe(true);
        // The probe was alone: nothing else reached the cluster while it was being answered.
        expect(recordedWhileProbing).toBe(1);
        const [probe, next] = back.requests;
        expect(next).toBeDefined();
        expect(next!.receivedAt.getTime() - probe!.receivedAt.getTime()).toBeGreaterThanOrEqual(
          190,
        );

        const stats = service.getStats();
        expect(stats.sent).toBe(20);
        expect(stats.breaker).toBe('closed');
        expect(states.has('open')).toBe(true);
        expect(back.accepted.map(idOf).sort()).toEqual(
          Array.from({ length: 20 }, (_, i) => `n-${i}`).sort(),
        );
        expect(warnings(/^Circuit breaker open after 3 consecutive failed attempts/)).toHaveLength(
          1,
        );
        expect(logs.text()).toContain('Circuit breaker closed');
        expectInvariant(stats);
      } finally {
        clearInterval(watch);
      }
    });

    it('resumes after an outage while clicks keep coming: what ran out of budget expires, it does not re-open the breaker', async () => {
      const { standIn, service } = await rig({
        concurrency: 4,
        breakerThreshold: 3,
        breakerCooldownMs: 200,
        requestTimeoutMs: 300,
        deliveryTimeoutMs: 600,
        retryMaxDelayMs: 100,
      });
      const port = Number(new URL(standIn.url).port);
      await standIn.close();
      let n = 0;
      // About 1 000 clicks a second, before, during and after the outage.
      const feeder = setInterval(() => {
        for (let i = 0; i < 5; i++) service.enqueueNonEsalesClick(click(n++));
      }, 5);
      const states: EsalesBreakerState[] = [];
      let watch: NodeJS.Timeout | undefined;
      try {
        await until('the breaker to open', () => service.getStats().breaker === 'open');
        // Long enough for the queue to hold notifications of every age up to their budget.
        await sleep(800);
        const back = await ElevateStandIn.start({ port });
        closers.push(() => back.close());
        await until('the breaker to close', () => service.getStats().breaker === 'closed', 3_000);
        const sentAtClose = service.getStats().sent;
        watch = setInterval(() => states.push(service.getStats().breaker), 2);
        // A whole budget later, every notification queued during the outage has had its outcome.
        await sleep(700);
        // The oldest ones ran out of budget on their way out: counted as expired, and not held
        // against Elevate, so the breaker stayed closed and the new clicks went through.
        expect(states).not.toContain('open');
        expect(service.getStats().sent - sentAtClose).toBeGreaterThan(300);
      } finally {
        clearInterval(feeder);
        clearInterval(watch);
      }
      expect(await service.flush(5_000)).toBe(true);
      const stats = service.getStats();
      expect(stats.expired).toBeGreaterThan(0);
      expectInvariant(stats);
    });

    it('makes room in a full queue by expiring what can no longer be attempted, not by dropping a fresh click', async () => {
      const { standIn, service } = await rig({
        maxQueueSize: 10,
        concurrency: 1,
        breakerThreshold: 1,
        breakerCooldownMs: 10_000,
        requestTimeoutMs: 300,
        deliveryTimeoutMs: 700,
      });
      await standIn.close();
      service.enqueueNonEsalesClick(click('first'));
      await until('the breaker to open', () => service.getStats().breaker === 'open');
      // The first one waits to retry; it counts against maxQueueSize like the nine queued behind it.
      for (let i = 0; i < 9; i++) service.enqueueNonEsalesClick(click(i));
      expect(service.getStats()).toMatchObject({ queued: 9, retrying: 1, dropped: 0 });
      // Past 700 - 300 ms, none of the ten can get a full attempt any more.
      await sleep(450);
      service.enqueueNonEsalesClick(click('fresh'));
      const stats = service.getStats();
      expect(stats.dropped).toBe(0);
      expect(stats.queued).toBe(1);
      expect(stats.expired).toBeGreaterThanOrEqual(10);
    });

    it('waits as long as Retry-After asks (429, Retry-After: 1), then delivers', async () => {
      const { standIn, service } = await rig({ retryMaxDelayMs: 2_000, deliveryTimeoutMs: 5_000 });
      let count = 0;
      standIn.respondWith(() =>
        ++count === 1
          ? { status: 429, body: 'slow down', headers: { 'Retry-After': '1' } }
          : { status: 204 },
      );
      await expect(service.sendNonEsalesClick(click('429'))).resolves.toBeUndefined();
      expect(await service.flush()).toBe(true);

      const [first, second] = standIn.requests;
      expect(standIn.requests).toHaveLength(2);
      expect(second!.receivedAt.getTime() - first!.receivedAt.getTime()).toBeGreaterThanOrEqual(
        950,
      );
      const stats = service.getStats();
      expect(stats).toMatchObject({ sent: 1, retried: 1 });
      expectInvariant(stats);
    });

    it('caps what Retry-After asks for at retryMaxDelayMs', async () => {
      const { standIn, service } = await rig({ retryMaxDelayMs: 300, deliveryTimeoutMs: 5_000 });
      let count = 0;
      standIn.respondWith(() =>
        ++count === 1 ? { status: 503, headers: { 'Retry-After': '3600' } } : { status: 204 },
      );
      await service.sendNonEsalesClick(click('capped'));
      expect(await service.flush()).toBe(true);
      const [first, second] = standIn.requests;
      const waited = second!.receivedAt.getTime() - first!.receivedAt.getTime();
      expect(waited).toBeGreaterThanOrEqual(250);
      expect(waited).toBeLessThan(3_000);
      expectInvariant(service.getStats());
    });

    it('never retries 400 or 403, counts them as rejected, and keeps the breaker closed', async () => {
      // breakerThreshold 1: were a 4xx counted against the breaker, it would open.
      const { standIn, service, app } = await rig({ breakerThreshold: 1, privateKey: PRIVATE_KEY });
      standIn.respondWith((request, elevate) =>
        idOf(request) === 'n-400' ? { status: 400, body: 'Product key is missing.' } : elevate(),
      );
      const badRequest = await rejectionOf(service.sendNonEsalesClick(click(400)));
      // A signed-in (SHA-256) customer key with a token not made with the cluster's private key.
      const forged = await rejectionOf(
        service.sendNonEsalesClick(
          click(403, { customerKey: 'a'.repeat(64), token: 'f'.repeat(64) }),
        ),
      );

      expect(badRequest).toBeInstanceOf(EsalesBadRequestError);
      expect(forged).toBeInstanceOf(EsalesCustomerKeyRejectedError);
      expect(standIn.requests.map((r) => [idOf(r), r.status])).toEqual([
        ['n-400', 400],
        ['n-403', 403],
      ]);
      // A valid signed-in visitor still goes through.
      const auth = app.get(CustomerKeyAuthenticationService).forVisitor('user-7');
      await service.sendNonEsalesClick(
        click('ok', { customerKey: auth.customerKey, token: auth.token }),
      );
      expect(await service.flush()).toBe(true);
      const stats = service.getStats();
      expect(stats).toMatchObject({
        rejected: 2,
        sent: 1,
        retried: 0,
        failed: 0,
        breaker: 'closed',
      });
      expectInvariant(stats);
    });

    it('drops what does not fit in a full queue, counts it exactly and warns rate-limited', async () => {
      const dropped: EsalesDropReason[] = [];
      const { standIn, service, warnings } = await rig({
        maxQueueSize: 100,
        concurrency: 2,
        requestTimeoutMs: 300,
        deliveryTimeoutMs: 2_000,
        onDropped: (_event, reason) => void dropped.push(reason),
      });
      standIn.respondWith(() => 'hang');
      for (let i = 0; i < 1_000; i++) service.enqueueNonEsalesClick(click(i));
      let stats = service.getStats();
      expect(stats).toMatchObject({ enqueued: 1_000, dropped: 900, queued: 100, inFlight: 0 });
      expect(dropped).toHaveLength(900);
      expect(new Set(dropped)).toEqual(new Set(['queue-full']));

      // The caller of sendNonEsalesClick learns about it.
      const overflow = await rejectionOf(service.sendNonEsalesClick(click('overflow')));
      expect(overflow).toBeInstanceOf(EsalesUndeliveredError);
      expect((overflow as EsalesUndeliveredError).reason).toBe('queue-full');
      expect(service.getStats().dropped).toBe(901);

      await new Promise((resolve) => setImmediate(resolve));
      stats = service.getStats();
      expect(stats.queued).toBeLessThanOrEqual(100);
      // (On a badly overloaded machine the loop alone can outlast the oldest notifications' budget.)
      expect(stats.queued + stats.inFlight + stats.expired).toBe(100);
      expect(stats.inFlight).toBeLessThanOrEqual(2);

      const full = warnings(/queue is full/);
      expect(full.length).toBeGreaterThanOrEqual(1);
      expect(full.length).toBeLessThanOrEqual(3);
      expect(full[0]).toMatch(/maxQueueSize 100\): \d+ notification\(s\) dropped so far/);

      expect(await service.flush(5_000)).toBe(true);
      stats = service.getStats();
      expect(stats).toMatchObject({ dropped: 901, abandoned: 0, expired: 100, sent: 0 });
      expect(dropped).toHaveLength(901);
      expectInvariant(stats);
    });

    describe('shutdown', () => {
      it('drains 1 000 queued notifications against a slow cluster before closing', async () => {
        const { standIn, service, closeApp } = await rig({
          concurrency: 16,
          // ~2 s on an idle machine; the margin is for a heavily loaded one.
          shutdownTimeoutMs: 15_000,
          deliveryTimeoutMs: 20_000,
          requestTimeoutMs: 2_000,
        });
        standIn.respondWith((_request, elevate) => {
          const answer = elevate();
          return typeof answer === 'object' ? { ...answer, delayMs: 20 } : answer;
        });
        for (let i = 0; i < 1_000; i++) service.enqueueNonEsalesClick(click(i));
        await closeApp();

        const stats = service.getStats();
        expect(stats).toMatchObject({ enqueued: 1_000, sent: 1_000, dropped: 0, abandoned: 0 });
        expect(new Set(standIn.accepted.map(idOf)).size).toBe(1_000);
        expectInvariant(stats);
        await until('the stand-in to see no open connection', async () => {
          return (await standIn.openConnections()) === 0;
        });

        // After shutdown, new notifications are dropped, not sent.
        service.enqueueNonEsalesClick(click('late'));
        const late = await rejectionOf(service.sendNonEsalesClick(click('later')));
        expect((late as EsalesUndeliveredError).reason).toBe('shutdown');
        expect(service.getStats()).toMatchObject({ enqueued: 1_002, sent: 1_000, dropped: 2 });
        expect(standIn.requests).toHaveLength(1_000);
        expectInvariant(service.getStats());
      }, 30_000);

      it('abandons what a hanging cluster holds up once shutdownTimeoutMs ran out', async () => {
        const abandonedIds: string[] = [];
        const { standIn, service, closeApp, warnings } = await rig({
          concurrency: 4,
          shutdownTimeoutMs: 500,
          requestTimeoutMs: 5_000,
          deliveryTimeoutMs: 10_000,
          onDropped: (event, reason) => {
            if (reason === 'shutdown') abandonedIds.push(event.id);
          },
        });
        standIn.respondWith(() => 'hang');
        for (let i = 0; i < 49; i++) service.enqueueNonEsalesClick(click(i));
        const waiting = rejectionOf(service.sendNonEsalesClick(click('waiting')));
        await standIn.waitForRequests(4);

        const started = performance.now();
        await closeApp();
        const elapsed = performance.now() - started;
        expect(elapsed).toBeGreaterThanOrEqual(450);
        expect(elapsed).toBeLessThan(3_000);

        const error = await waiting;
        expect(error).toBeInstanceOf(EsalesUndeliveredError);
        expect((error as EsalesUndeliveredError).reason).toBe('shutdown');
        const stats = service.getStats();
        expect(stats.sent).toBe(0);
        expect(stats.abandoned).toBe(stats.enqueued - stats.sent);
        expect(stats).toMatchObject({ enqueued: 50, dropped: 50, abandoned: 50 });
        expect(abandonedIds).toHaveLength(50);
        expect(warnings(/abandon/i)).toEqual([
          expect.stringMatching(/^Shutdown: 50 notification\(s\) .* \(46 queued, 4 in flight\)$/),
        ]);
        expectInvariant(stats);
        await until('the stand-in to see no open connection', async () => {
          return (await standIn.openConnections()) === 0;
        });
      });
    });

    describe('hooks', () => {
      it('tells onDelivered and onFailed about each outcome, without customer key or token', async () => {
        const delivered: EsalesDeliveryEvent[] = [];
        const failed: [EsalesDeliveryEvent, EsalesDeliveryError][] = [];
        const { standIn, service, app } = await rig({
          privateKey: PRIVATE_KEY,
          maxAttempts: 2,
          onDelivered: (event) => void delivered.push(event),
          onFailed: (event, error) => void failed.push([event, error]),
        });
        const auth = app.get(CustomerKeyAuthenticationService).forVisitor('user-8');
        const signedIn = { customerKey: auth.customerKey, token: auth.token };
        let retryCount = 0;
        standIn.respondWith((request, elevate) => {
          const id = idOf(request);
          if (id === 'n-retry' && ++retryCount === 1) return { status: 502 };
          if (id === 'n-down') return { status: 500 };
          return elevate();
        });
        await service.sendNonEsalesClick(click('ok', signedIn));
        await service.sendNonEsalesClick(click('retry', { ...signedIn, variantKey: 'v-1' }));
        await rejectionOf(service.sendNonEsalesClick(click('down', signedIn)));
        expect(await service.flush()).toBe(true);

        expect(delivered).toEqual([
          {
            kind: 'non-esales-click',
            id: 'n-ok',
            market: 'UK',
            productKey: 'p-ok',
            variantKey: null,
            attempts: 1,
          },
          {
            kind: 'non-esales-click',
            id: 'n-retry',
            market: 'UK',
            productKey: 'p-retry',
            variantKey: 'v-1',
            attempts: 2,
          },
        ]);
        expect(failed).toHaveLength(1);
        const [event, error] = failed[0]!;
        expect(event).toEqual({
          kind: 'non-esales-click',
          id: 'n-down',
          market: 'UK',
          productKey: 'p-down',
          variantKey: null,
          attempts: 2,
        });
        expect(error).toBeInstanceOf(EsalesServerError);
        const shown = JSON.stringify([delivered, failed.map(([e]) => e)]);
        for (const secret of [auth.customerKey, auth.token, VISITOR.sessionKey]) {
          expect(shown).not.toContain(secret);
        }
        expectInvariant(service.getStats());
      });

      it('survives hooks that throw or reject: delivery goes on, nothing is left unhandled', async () => {
        let deliveredCalls = 0;
        let failedCalls = 0;
        const { standIn, service, warnings } = await rig({
          onDelivered: () => {
            deliveredCalls++;
            throw new Error('onDelivered blew up');
          },
          onFailed: async () => {
            failedCalls++;
            await Promise.resolve();
            throw new Error('onFailed blew up');
          },
        });
        standIn.respondWith((request, elevate) =>
          idOf(request).startsWith('n-bad') ? { status: 400 } : elevate(),
        );
        await service.sendNonEsalesClick(click(1));
        await expect(service.sendNonEsalesClick(click('bad-1'))).rejects.toBeInstanceOf(
          EsalesBadRequestError,
        );
        await service.sendNonEsalesClick(click(2));
        for (let i = 3; i < 10; i++) service.enqueueNonEsalesClick(click(i));
        service.enqueueNonEsalesClick(click('bad-2'));
        expect(await service.flush()).toBe(true);
        // Let any rejection that escaped surface while this test still runs.
        await sleep(20);

        const stats = service.getStats();
        expect(stats).toMatchObject({ sent: 9, rejected: 2 });
        expect(deliveredCalls).toBe(9);
        expect(failedCalls).toBe(2);
        expect(warnings(/onDelivered hook threw: Error: onDelivered blew up/)).toHaveLength(1);
        expect(warnings(/onFailed hook threw: Error: onFailed blew up/)).toHaveLength(1);
        expectInvariant(stats);
      });

      it("catches a hook's rejected promise made in another realm (e.g. node:fs/promises under Jest)", async () => {
        let calls = 0;
        const { service, warnings } = await rig({
          // Under Jest, core-module promises are not `instanceof Promise` of the test's realm.
          onDelivered: () => {
            calls++;
            return fsp.readFile('/nonexistent/nestjs-esales-delivery-spec');
          },
        });
        await service.sendNonEsalesClick(click(1));
        await service.sendNonEsalesClick(click(2));
        expect(await service.flush()).toBe(true);
        await sleep(50);
        expect(calls).toBe(2);
        expect(warnings(/onDelivered hook threw: .*ENOENT/)).toHaveLength(1);
        expectInvariant(service.getStats());
      });
    });

    it('logs no token or private key, and customer keys only masked', async () => {
      const { standIn, service, app, logs } = await rig({
        privateKey: PRIVATE_KEY,
        maxAttempts: 2,
        requestTimeoutMs: 300,
      });
      const auth = app.get(CustomerKeyAuthenticationService).forVisitor('user-9');
      const forgedKey = 'b'.repeat(64);
      const forgedToken = 'c'.repeat(64);
      const anonymous = '5f0c8a4e-3b1d-4e2a-9c7f-0d6e5b4a3c21';
      standIn.respondWith((request, elevate) => {
        const id = idOf(request);
        // Echo the token back, as a careless proxy might.
        if (id === 'n-500') return { status: 500, body: `failed for token ${auth.token}` };
        if (id === 'n-hang') return 'hang';
        return elevate();
      });
      await rejectionOf(
        service.sendNonEsalesClick(
          click(500, { customerKey: auth.customerKey, token: auth.token }),
        ),
      );
      await rejectionOf(
        service.sendNonEsalesClick(click(403, { customerKey: forgedKey, token: forgedToken })),
      );
      await rejectionOf(service.sendNonEsalesClick(click('hang', { customerKey: anonymous })));
      expect(await service.flush()).toBe(true);

      const text = logs.text();
      for (const secret of [PRIVATE_KEY, auth.token, forgedToken])
        expect(text).not.toContain(secret);
      for (const key of [auth.customerKey, forgedKey, anonymous]) {
        expect(text).not.toContain(key);
        expect(text).toContain(`customer ${key.slice(0, 4)}…,`);
      }
      // The hanging one fails after its 2 attempts time out, well within the budget.
      expect(service.getStats()).toMatchObject({ failed: 2, rejected: 1 });
      expectInvariant(service.getStats());
    });

    // Runs last: every line any app of this file logged.
    it('never logged a secret or an unmasked customer key anywhere in this file', () => {
      const text = allLogs.map((logs) => logs.text()).join('\n');
      expect(text.length).toBeGreaterThan(0);
      expect(text).not.toContain(PRIVATE_KEY);
      expect(text).not.toMatch(/[0-9a-f]{64}/);
      expect(text).not.toContain(VISITOR.customerKey);
      expect(text).not.toContain(VISITOR.sessionKey);
    });
  });
});
