import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Param, Redirect } from '@nestjs/common';
import { CustomerKeyAuthentication } from '../../lib/auth/customer-key-authentication.js';
import { TrackClick } from '../../lib/click-tracking/tracking.decorators.js';
import type { EsalesModuleOptions } from '../../lib/config/esales-options.interface.js';
import { EsalesUndeliveredError } from '../../lib/errors/esales-undelivered.error.js';
import { EsalesUnknownMarketError } from '../../lib/errors/esales-unknown-market.error.js';
import { EsalesValidationError } from '../../lib/errors/esales-validation.error.js';
import {
  BREAKER_STATE_VALUES,
  ESALES_ATTRIBUTES as A,
  ESALES_METRICS as M,
} from '../../lib/opentelemetry/instruments.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../../lib/package-info.js';
import { ElevateStandIn, type StandInRequest } from '../../lib/testing/elevate-stand-in.js';
import { BROWSER_UA, TEST_PRIVATE_KEY, testApp, type TestApp } from '../support/test-app.js';
import {
  exportedAttributes,
  MetricsHarness,
  rejectionOf,
  until,
  type Snapshot,
} from './otel-support.js';

/*
 * `metrics: true` against a real SDK MeterProvider (a pull reader, registered globally as an app
 * would) and a real stand-in: every outcome, skip, histogram and gauge, the market attribute, the
 * descriptors instruments.ts documents, and that no exported attribute ever carries a key, a token
 * or an id.
 */

const CUSTOMER = '5f0c8e4e-91a7-4c1b-8d0e-6a3c2b1f9e77';
const SESSION = 'c2f9a1d4-3b6e-4f8a-9c7d-0e1f2a3b4c5d';
const VISITOR = { customerKey: CUSTOMER, sessionKey: SESSION };
const SIGNED_IN = new CustomerKeyAuthentication(TEST_PRIVATE_KEY, 'metrics-spec-user-31');

/** Every id, key and token the spec hands the package, and all it sent on the wire (below). */
const SECRETS = new Set<string>([
  CUSTOMER,
  SESSION,
  SIGNED_IN.customerKey,
  SIGNED_IN.token,
  'metrics-spec-user-31',
]);
/** Strings of the requests' bodies and queries (paymentToken): secrets too, but the market. */
function rememberWire(requests: readonly StandInRequest[]): void {
  const walk = (value: unknown, key?: string): void => {
    if (typeof value === 'string' && key !== 'market' && value.length >= 3) SECRETS.add(value);
    else if (Array.isArray(value)) value.forEach((v) => walk(v));
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  for (const request of requests) {
    walk(request.body);
    walk(request.query);
  }
}

let seq = 0;
/** A non-esales click with an id and a product key of its own (both remembered as secrets). */
const click = (extra: Record<string, unknown> = {}) => {
  seq += 1;
  const id = `notif-id-${seq}-8d41c3`;
  const productKey = `secret-product-${seq}-77ab`;
  SECRETS.add(id);
  SECRETS.add(productKey);
  return { ...VISITOR, id, productKey, ...extra };
};

const payment = (extra: Record<string, unknown> = {}) => {
  seq += 1;
  const productKey = `secret-line-${seq}-19fe`;
  SECRETS.add(productKey);
  return { ...VISITOR, lines: [{ productKey, quantity: 1, sellingPrice: 42 }], ...extra };
};

const dedupeKey = (name: string) => {
  const key = `order-${name}-4411-secret`;
  SECRETS.add(key);
  return key;
};

/** Fast delivery for every test; each overrides what it is about. */
const BASE: Partial<EsalesModuleOptions> = {
  requestTimeoutMs: 2_000,
  retryBaseDelayMs: 10,
  retryMaxDelayMs: 30,
  deliveryTimeoutMs: 5_000,
  breakerThreshold: 10_000,
  breakerCooldownMs: 250,
  shutdownTimeoutMs: 500,
};
const FAST: Partial<EsalesModuleOptions> = { ...BASE, metrics: true };

const OUTCOMES = ['sent', 'rejected', 'failed', 'expired', 'dropped'] as const;

/** The attribute keys each instrument may carry: the documented ones, no more. */
const ALLOWED_KEYS: Record<string, readonly string[]> = {
  [M.enqueued]: [A.kind, A.market],
  [M.outcomes]: [A.kind, A.market, A.outcome, A.errorType, A.dropReason],
  [M.skipped]: [A.kind, A.skipReason],
  [M.duration]: [A.kind, A.market, A.outcome],
  [M.attemptDuration]: [A.kind, A.market, A.attemptOutcome, A.errorType],
  [M.queueSize]: [A.cluster],
  [M.inFlight]: [A.cluster],
  [M.concurrencyLimit]: [A.cluster],
  [M.breakerState]: [A.cluster],
  [M.redisQueueSize]: [],
};

/** What instruments.ts documents of each instrument. */
const DESCRIPTORS: Record<string, { kind: string; unit: string }> = {
  [M.enqueued]: { kind: 'counter', unit: '{notification}' },
  [M.outcomes]: { kind: 'counter', unit: '{notification}' },
  [M.skipped]: { kind: 'counter', unit: '{notification}' },
  [M.duration]: { kind: 'histogram', unit: 's' },
  [M.attemptDuration]: { kind: 'histogram', unit: 's' },
  [M.queueSize]: { kind: 'gauge', unit: '{notification}' },
  [M.inFlight]: { kind: 'gauge', unit: '{attempt}' },
  [M.concurrencyLimit]: { kind: 'gauge', unit: '{attempt}' },
  [M.breakerState]: { kind: 'gauge', unit: '1' },
  [M.redisQueueSize]: { kind: 'gauge', unit: '{job}' },
};

@Controller()
class ShopController {
  @Get('products/:productKey/redirect')
  @Redirect()
  @TrackClick({ productKey: 'productKey' })
  redirect(@Param('productKey') productKey: string) {
    return { url: `/p/${encodeURIComponent(productKey)}` };
  }
}

/** The sum of outcomes of every kind and market, which at rest equals `enqueued`. */
const outcomeTotal = (s: Snapshot) => s.total(M.outcomes);

describe('OpenTelemetry metrics (metrics: true)', () => {
  let harness: MetricsHarness;
  let t: TestApp | undefined;

  beforeEach(() => {
    harness = MetricsHarness.install();
  });
  afterEach(async () => {
    if (t) {
      rememberWire(t.standIn.requests);
      await t.close();
      t = undefined;
    }
    await harness.uninstall();
  });

  const start = async (options: Partial<EsalesModuleOptions> = {}, platform?: 'express') =>
    (t = await testApp({
      options: { ...FAST, ...options },
      ...(platform ? { platform, controllers: [ShopController] } : {}),
    }));

  /** At rest: nothing queued or in flight, and enqueued === the sum of outcomes (also per kind). */
  async function expectAtRest(app: TestApp): Promise<Snapshot> {
    expect(await app.service.flush()).toBe(true);
    const s = await harness.collect();
    expect(s.total(M.enqueued)).toBe(outcomeTotal(s));
    const stats = app.service.getStats();
    expect(s.total(M.enqueued)).toBe(stats.enqueued);
    for (const outcome of OUTCOMES) {
      expect({ outcome, n: s.total(M.outcomes, { [A.outcome]: outcome }) }).toEqual({
        outcome,
        n: stats[outcome],
      });
    }
    return s;
  }

  describe('outcomes: each moves esales.notification.outcomes by exactly one', () => {
    it('sent (2xx): kind, market, outcome; no error.type', async () => {
      const app = await start();
      await app.service.sendNonEsalesClick(click());
      const s = await expectAtRest(app);
      expect(s.points(M.outcomes)).toEqual([
        {
          attributes: {
            [A.kind]: 'non-esales-click',
            [A.market]: 'UK',
            [A.outcome]: 'sent',
          },
          value: 1,
        },
      ]);
      expect(s.points(M.enqueued)).toEqual([
        { attributes: { [A.kind]: 'non-esales-click', [A.market]: 'UK' }, value: 1 },
      ]);
    });

    it("rejected (400): error.type '400'", async () => {
      const app = await start();
      app.standIn.respondWith(() => ({ status: 400, body: 'nope' }));
      await rejectionOf(app.service.sendClick({ ...click(), ticket: 'OzE7Mjs' }));
      const s = await expectAtRest(app);
      expect(s.points(M.outcomes)).toEqual([
        {
          attributes: {
            [A.kind]: 'click',
            [A.market]: 'UK',
            [A.outcome]: 'rejected',
            [A.errorType]: '400',
          },
          value: 1,
        },
      ]);
      expect(app.standIn.requests).toHaveLength(1);
    });

    it("failed (501, not retried): error.type '501', one failed attempt", async () => {
      const app = await start();
      app.standIn.respondWith(() => ({ status: 501 }));
      await rejectionOf(app.service.sendPayment(payment()));
      const s = await expectAtRest(app);
      expect(s.points(M.outcomes)).toEqual([
        {
          attributes: {
            [A.kind]: 'payment',
            [A.market]: 'UK',
            [A.outcome]: 'failed',
            [A.errorType]: '501',
          },
          value: 1,
        },
      ]);
      expect(app.standIn.requests).toHaveLength(1);
      expect(s.points(M.attemptDuration)).toEqual([
        expect.objectContaining({
          attributes: {
            [A.kind]: 'payment',
            [A.market]: 'UK',
            [A.attemptOutcome]: 'failure',
            [A.errorType]: '501',
          },
          value: 1,
        }),
      ]);
    });

    it("expired (503 until the budget runs out): error.type '503' from the cause", async () => {
      const app = await start({ deliveryTimeoutMs: 400, requestTimeoutMs: 200 });
      app.standIn.respondWith(() => ({ status: 503 }));
      const error = await rejectionOf(app.service.sendNonEsalesClick(click()));
      expect((error as EsalesUndeliveredError).reason).toBe('expired');
      const s = await expectAtRest(app);
      expect(s.points(M.outcomes)).toEqual([
        {
          attributes: {
            [A.kind]: 'non-esales-click',
            [A.market]: 'UK',
            [A.outcome]: 'expired',
            [A.errorType]: '503',
          },
          value: 1,
        },
      ]);
      // One attempt point per request the stand-in answered, every one a 503 failure.
      const attempts = app.standIn.requests.length;
      expect(attempts).toBeGreaterThanOrEqual(2);
      expect(s.total(M.attemptDuration)).toBe(attempts);
      expect(
        s.total(M.attemptDuration, { [A.attemptOutcome]: 'failure', [A.errorType]: '503' }),
      ).toBe(attempts);
    });

    it("dropped, queue full: esales.drop.reason 'queue-full', no error.type", async () => {
      const app = await start({ maxQueueSize: 1, concurrency: 1, requestTimeoutMs: 5_000 });
      app.standIn.respondWith(() => 'hang');
      const first = rejectionOf(app.service.sendNonEsalesClick(click()));
      await app.standIn.waitForRequests(1);
      const queued = rejectionOf(app.service.sendNonEsalesClick(click()));
      const dropped = await rejectionOf(app.service.sendNonEsalesClick(click()));
      expect(dropped).toBeInstanceOf(EsalesUndeliveredError);
      expect((dropped as EsalesUndeliveredError).reason).toBe('queue-full');

      const s = await harness.collect();
      expect(s.points(M.outcomes)).toEqual([
        {
          attributes: {
            [A.kind]: 'non-esales-click',
            [A.market]: 'UK',
            [A.outcome]: 'dropped',
            [A.dropReason]: 'queue-full',
          },
          value: 1,
        },
      ]);
      expect(s.total(M.enqueued)).toBe(3);
      await app.closeApp();
      await Promise.all([first, queued]);
    });

    it("dropped at shutdown: esales.drop.reason 'shutdown'", async () => {
      const app = await start({ concurrency: 1, requestTimeoutMs: 5_000, shutdownTimeoutMs: 200 });
      app.standIn.respondWith(() => 'hang');
      const inFlight = rejectionOf(app.service.sendNonEsalesClick(click()));
      await app.standIn.waitForRequests(1);
      const queued = rejectionOf(app.service.sendEndSession(VISITOR));
      await app.closeApp();
      for (const error of await Promise.all([inFlight, queued])) {
        expect((error as EsalesUndeliveredError).reason).toBe('shutdown');
      }
      const s = await harness.collect();
      const shutdown = { [A.outcome]: 'dropped', [A.dropReason]: 'shutdown' };
      expect(s.points(M.outcomes)).toEqual(
        expect.arrayContaining([
          {
            attributes: { [A.kind]: 'non-esales-click', [A.market]: 'UK', ...shutdown },
            value: 1,
          },
          { attributes: { [A.kind]: 'end', [A.market]: 'UK', ...shutdown }, value: 1 },
        ]),
      );
      expect(s.points(M.outcomes)).toHaveLength(2);
      expect(s.total(M.enqueued)).toBe(2);
      expect(outcomeTotal(s)).toBe(2);
    });

    it('enqueued equals the sum of outcomes at rest, kind by kind, over a mix', async () => {
      const app = await start({ maxAttempts: 3 });
      app.standIn.respondWith((request) => {
        const id = (request.body as { id?: string } | undefined)?.id ?? '';
        if (id.endsWith('-bad')) return { status: 400 };
        if (id.endsWith('-gone')) return { status: 501 };
        return undefined;
      });
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < 5; i++) sends.push(app.service.sendNonEsalesClick(click()));
      for (let i = 0; i < 3; i++) {
        sends.push(rejectionOf(app.service.sendNonEsalesClick(click({ id: `mix-${i}-bad` }))));
      }
      for (let i = 0; i < 2; i++) {
        sends.push(rejectionOf(app.service.sendNonEsalesClick(click({ id: `mix-${i}-gone` }))));
      }
      sends.push(app.service.sendEndSession(VISITOR), app.service.sendPayment(payment()));
      await Promise.all(sends);
      const s = await expectAtRest(app);
      expect(s.total(M.enqueued)).toBe(12);
      expect(s.total(M.outcomes, { [A.outcome]: 'sent' })).toBe(7);
      expect(s.total(M.outcomes, { [A.outcome]: 'rejected', [A.errorType]: '400' })).toBe(3);
      expect(s.total(M.outcomes, { [A.outcome]: 'failed', [A.errorType]: '501' })).toBe(2);
      for (const kind of ['non-esales-click', 'end', 'payment']) {
        expect(s.total(M.enqueued, { [A.kind]: kind })).toBe(
          s.total(M.outcomes, { [A.kind]: kind }),
        );
      }
    });
  });

  describe('skips: each reason moves esales.notification.skipped by one', () => {
    const skips = (s: Snapshot) =>
      s.points(M.skipped).map((p) => ({ ...p.attributes, n: p.value }));

    it('invalid', async () => {
      const app = await start();
      const error = await rejectionOf(
        app.service.sendNonEsalesClick({ ...VISITOR, productKey: '' }),
      );
      expect(error).toBeInstanceOf(EsalesValidationError);
      const s = await harness.collect();
      expect(skips(s)).toEqual([{ [A.kind]: 'non-esales-click', [A.skipReason]: 'invalid', n: 1 }]);
      expect(s.total(M.enqueued)).toBe(0);
    });

    it('unknownMarket (markets configured)', async () => {
      const app = await start({ markets: { UK: {}, Sweden: {} } });
      const error = await rejectionOf(app.service.sendEndSession({ ...VISITOR, market: 'Norway' }));
      expect(error).toBeInstanceOf(EsalesUnknownMarketError);
      const s = await harness.collect();
      expect(skips(s)).toEqual([{ [A.kind]: 'end', [A.skipReason]: 'unknownMarket', n: 1 }]);
    });

    it('duplicate: sendPayment twice with the same dedupeKey', async () => {
      const app = await start();
      const key = dedupeKey('dup');
      await app.service.sendPayment(payment(), { dedupeKey: key });
      await app.service.sendPayment(payment(), { dedupeKey: key });
      const s = await expectAtRest(app);
      expect(skips(s)).toEqual([{ [A.kind]: 'payment', [A.skipReason]: 'duplicate', n: 1 }]);
      expect(s.total(M.outcomes, { [A.outcome]: 'sent' })).toBe(1);
      expect(app.standIn.requests).toHaveLength(1);
    });

    it('bot and noConsent through a tracked route on Express', async () => {
      const consent = (request: { headers: Record<string, unknown> }) =>
        request.headers['x-consent'] !== 'no';
      const app = await start({ consent }, 'express');
      const get = async (headers: Record<string, string>) => {
        const response = await fetch(`${app.url}/products/${click().productKey}/redirect`, {
          redirect: 'manual',
          headers,
        });
        await response.arrayBuffer();
        expect(response.status).toBe(302);
      };
      await get({ 'user-agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)' });
      await get({ 'user-agent': BROWSER_UA, 'x-consent': 'no' });
      await get({
        'user-agent': BROWSER_UA,
        cookie: `apptus.sessionKey=${SESSION}; apptus.customerKey=${CUSTOMER}`,
      });
      const s = await expectAtRest(app);
      expect(skips(s)).toEqual(
        expect.arrayContaining([
          { [A.kind]: 'non-esales-click', [A.skipReason]: 'bot', n: 1 },
          { [A.kind]: 'non-esales-click', [A.skipReason]: 'noConsent', n: 1 },
        ]),
      );
      expect(s.total(M.skipped)).toBe(2);
      expect(s.total(M.outcomes, { [A.kind]: 'non-esales-click', [A.outcome]: 'sent' })).toBe(1);
    });

    // Metrics are recorded while disabled: the 'disabled' skip counts what was not sent.
    it('disabled: an app with enabled: false counts what it did not send', async () => {
      const app = await start({ enabled: false });
      await app.service.sendNonEsalesClick(click());
      expect(app.service.getStats().skippedBy.disabled).toBe(1);
      const s = await harness.collect();
      expect(skips(s)).toEqual([
        { [A.kind]: 'non-esales-click', [A.skipReason]: 'disabled', n: 1 },
      ]);
      expect(app.standIn.requests).toHaveLength(0);
    });
  });

  describe('histograms', () => {
    it('esales.attempt.duration: one point per attempt, success and failure; esales.notification.duration: one per notification', async () => {
      const app = await start();
      let calls = 0;
      app.standIn.respondWith(() => (++calls === 1 ? { status: 503 } : undefined));
      const started = performance.now();
      await app.service.sendNonEsalesClick(click());
      const elapsedS = (performance.now() - started) / 1000;
      const s = await expectAtRest(app);
      expect(app.standIn.requests.map((r) => r.status)).toEqual([503, 204]);

      const base = { [A.kind]: 'non-esales-click', [A.market]: 'UK' };
      const attempts = s.points(M.attemptDuration);
      expect(attempts.map((p) => p.attributes)).toEqual(
        expect.arrayContaining([
          { ...base, [A.attemptOutcome]: 'failure', [A.errorType]: '503' },
          { ...base, [A.attemptOutcome]: 'success' },
        ]),
      );
      expect(attempts).toHaveLength(2);
      for (const point of attempts) {
        expect(point.value).toBe(1);
        // Seconds, not milliseconds: a loopback attempt takes well under the whole send.
        expect(point.sum).toBeGreaterThan(0);
        expect(point.sum).toBeLessThanOrEqual(elapsedS + 0.05);
      }

      const durations = s.points(M.duration);
      expect(durations).toEqual([
        expect.objectContaining({ attributes: { ...base, [A.outcome]: 'sent' }, value: 1 }),
      ]);
      const total = durations[0]?.sum ?? NaN;
      expect(total).toBeGreaterThan(0);
      expect(total).toBeLessThanOrEqual(elapsedS + 0.05);
      // Queued to sent covers both attempts and the backoff between them.
      const attemptSum = attempts.reduce((sum, p) => sum + (p.sum ?? 0), 0);
      expect(total).toBeGreaterThanOrEqual(attemptSum * 0.9);

      expect(s.instrument(M.attemptDuration)).toMatchObject({ unit: 's', kind: 'histogram' });
      expect(s.instrument(M.duration)).toMatchObject({ unit: 's', kind: 'histogram' });
    });
  });

  describe('gauges read the live state per esales.cluster', () => {
    const gauge = (s: Snapshot, name: string, cluster: string) => {
      const points = s.points(name, { [A.cluster]: cluster });
      expect(points).toHaveLength(1);
      return points[0]?.value;
    };

    it('queue size, in flight and the concurrency limit with a hanging cluster; 0 at rest', async () => {
      const app = await start({ concurrency: 2, requestTimeoutMs: 5_000 });
      const cluster = Object.keys(app.service.getStats().clusters)[0] ?? '';
      expect(cluster).toContain('127.0.0.1');

      let s = await harness.collect();
      expect(gauge(s, M.queueSize, cluster)).toBe(0);
      expect(gauge(s, M.inFlight, cluster)).toBe(0);
      expect(gauge(s, M.concurrencyLimit, cluster)).toBe(2);
      expect(gauge(s, M.breakerState, cluster)).toBe(BREAKER_STATE_VALUES.closed);

      let release!: () => void;
      const hold = new Promise<void>((resolve) => (release = resolve));
      app.standIn.respondWith(async () => {
        await hold;
        return undefined;
      });
      const sends = [0, 1, 2, 3, 4].map(() => app.service.sendNonEsalesClick(click()));
      await until('two requests in flight', () => app.standIn.inFlight === 2);
      s = await harness.collect();
      expect(gauge(s, M.inFlight, cluster)).toBe(2);
      expect(gauge(s, M.queueSize, cluster)).toBe(3);
      expect(gauge(s, M.concurrencyLimit, cluster)).toBe(2);
      const stats = app.service.getStats().clusters[cluster];
      expect(stats).toMatchObject({ inFlight: 2, queued: 3 });

      release();
      await Promise.all(sends);
      s = await expectAtRest(app);
      expect(gauge(s, M.inFlight, cluster)).toBe(0);
      expect(gauge(s, M.queueSize, cluster)).toBe(0);
    });

    it('esales.breaker.state is 2 once the breaker opens, and the adaptive limit is what stats say', async () => {
      const app = await start({
        breakerThreshold: 2,
        breakerCooldownMs: 10_000,
        maxAttempts: 20,
        deliveryTimeoutMs: 20_000,
      });
      const cluster = Object.keys(app.service.getStats().clusters)[0] ?? '';
      app.standIn.respondWith(() => ({ status: 503 }));
      const waiting = rejectionOf(app.service.sendNonEsalesClick(click()));
      await until('the breaker to open', () => app.service.getStats().breaker === 'open');
      const s = await harness.collect();
      expect(gauge(s, M.breakerState, cluster)).toBe(BREAKER_STATE_VALUES.open);
      const live = app.service.getStats().clusters[cluster];
      expect(gauge(s, M.concurrencyLimit, cluster)).toBe(live?.concurrencyLimit);
      // The notification waits for the breaker: queued or retrying, not in flight.
      expect(gauge(s, M.inFlight, cluster)).toBe(0);
      expect(gauge(s, M.queueSize, cluster)).toBe(1);
      await app.closeApp();
      expect(((await waiting) as EsalesUndeliveredError).reason).toBe('shutdown');
    });

    // A closed app's clusters are not exported, and its callbacks do not keep it alive.
    it('a closed app exports no gauge point any more', async () => {
      const app = await start();
      await app.service.sendEndSession(VISITOR);
      await app.closeApp();
      const s = await harness.collect();
      for (const name of [M.queueSize, M.inFlight, M.concurrencyLimit, M.breakerState]) {
        expect({ name, points: s.points(name) }).toEqual({ name, points: [] });
      }
    });

    it('one point per cluster when markets use two clusters', async () => {
      const other = await ElevateStandIn.start({ privateKey: TEST_PRIVATE_KEY });
      try {
        const app = await start({ markets: { UK: {}, Sweden: { clusterUrl: other.url } } });
        await app.service.sendEndSession({ ...VISITOR, market: 'Sweden' });
        const s = await expectAtRest(app);
        const clusters = Object.keys(app.service.getStats().clusters).sort();
        expect(clusters).toHaveLength(2);
        for (const name of [M.queueSize, M.inFlight, M.concurrencyLimit, M.breakerState]) {
          expect(
            s
              .points(name)
              .map((p) => p.attributes[A.cluster])
              .sort(),
          ).toEqual(clusters);
        }
        rememberWire(other.requests);
        expect(other.requests).toHaveLength(1);
      } finally {
        await t?.closeApp();
        await other.close();
      }
    });
  });

  describe('esales.market', () => {
    it('is the market itself when markets are configured', async () => {
      const app = await start({ markets: { UK: {}, Sweden: {} } });
      await app.service.sendNonEsalesClick(click({ market: 'Sweden' }));
      await app.service.sendNonEsalesClick(click());
      const s = await expectAtRest(app);
      expect(s.total(M.outcomes, { [A.market]: 'Sweden', [A.outcome]: 'sent' })).toBe(1);
      expect(s.total(M.outcomes, { [A.market]: 'UK', [A.outcome]: 'sent' })).toBe(1);
      expect(s.total(M.enqueued, { [A.market]: 'Sweden' })).toBe(1);
      expect(s.total(M.attemptDuration, { [A.market]: 'Sweden' })).toBe(1);
      expect(s.total(M.duration, { [A.market]: 'Sweden' })).toBe(1);
    });

    it("is '_other' for a market other than defaultMarket when no markets are configured", async () => {
      const app = await start();
      await app.service.sendNonEsalesClick(click({ market: 'Norway' }));
      await app.service.sendNonEsalesClick(click({ market: 'Denmark-DK' }));
      await app.service.sendNonEsalesClick(click());
      const s = await expectAtRest(app);
      const markets = new Set(
        [M.enqueued, M.outcomes, M.duration, M.attemptDuration].flatMap((name) =>
          s.points(name).map((p) => p.attributes[A.market]),
        ),
      );
      expect([...markets].sort()).toEqual(['UK', '_other']);
      expect(s.total(M.outcomes, { [A.market]: '_other' })).toBe(2);
      expect(s.total(M.outcomes, { [A.market]: 'UK' })).toBe(1);
    });
  });

  describe('descriptors', () => {
    it('units, kinds, descriptions and the scope are as instruments.ts documents', async () => {
      const app = await start();
      app.standIn.respondWith(() => ({ status: 400 }));
      await rejectionOf(app.service.sendNonEsalesClick(click()));
      await rejectionOf(app.service.sendNonEsalesClick({ ...VISITOR }));
      const s = await expectAtRest(app);
      const esales = s.instruments.filter((i) => i.name.startsWith('esales.'));
      // Every instrument but the BullMQ gauge (memory delivery observes nothing for it).
      expect(esales.map((i) => i.name).sort()).toEqual(
        Object.values(M)
          .filter((n) => n !== M.redisQueueSize)
          .sort(),
      );
      for (const instrument of esales) {
        expect({ name: instrument.name, kind: instrument.kind, unit: instrument.unit }).toEqual({
          name: instrument.name,
          ...DESCRIPTORS[instrument.name],
        });
        expect(instrument.description.length).toBeGreaterThan(0);
        expect(instrument.scope).toEqual({ name: PACKAGE_NAME, version: PACKAGE_VERSION });
      }
    });
  });

  describe('privacy', () => {
    it('a signed-in visitor, a secure payment with a dedupeKey, a ticket: no secret in any attribute', async () => {
      const app = await start({ markets: { UK: {}, Sweden: {} } });
      const signedIn = { customerKey: SIGNED_IN.customerKey, sessionKey: SESSION };
      SECRETS.add('OzE7MjQ7secret-ticket');
      await app.service.sendClick({
        ...signedIn,
        token: SIGNED_IN.token,
        ticket: 'OzE7MjQ7secret-ticket',
        id: 'privacy-click-id-1',
      });
      await app.service.sendPayment(
        { ...payment(signedIn), token: SIGNED_IN.token, market: 'Sweden' },
        { dedupeKey: dedupeKey('privacy') },
      );
      app.standIn.respondWith(() => ({ status: 400 }));
      await rejectionOf(
        app.service.sendNonEsalesAddingToCart(click({ variantKey: 'secret-variant-9' })),
      );
      SECRETS.add('privacy-click-id-1');
      SECRETS.add('secret-variant-9');
      await expectAtRest(app);
      rememberWire(app.standIn.requests);
      expect(app.standIn.requests.some((r) => r.query['paymentToken'] !== undefined)).toBe(true);
    });

    // Last in the file: every attribute of every point any test above exported.
    it('no exported attribute carries a key, token, id or product key; only documented keys', () => {
      expect(exportedAttributes.length).toBeGreaterThan(50);
      const secrets = [...SECRETS].filter((s) => s.length >= 6);
      expect(secrets.length).toBeGreaterThan(20);
      const leaks: { instrument: string; key: string; value: unknown }[] = [];
      const strangers: { instrument: string; key: string }[] = [];
      for (const { instrument, attributes } of exportedAttributes) {
        const allowed = ALLOWED_KEYS[instrument];
        for (const [key, value] of Object.entries(attributes)) {
          if (!instrument.startsWith('esales.')) continue;
          if (!allowed?.includes(key)) strangers.push({ instrument, key });
          const text = String(value);
          if (secrets.some((secret) => text.includes(secret) || key.includes(secret))) {
            leaks.push({ instrument, key, value });
          }
        }
      }
      expect(leaks).toEqual([]);
      expect(strangers).toEqual([]);
    });
  });
});

describe('OpenTelemetry metrics off (metrics: false, the default)', () => {
  let harness: MetricsHarness;
  afterAll(() => harness.uninstall());

  it('exports no esales.* instrument at all, even with traffic, skips and failures', async () => {
    harness = MetricsHarness.install();
    const t = await testApp({ options: BASE });
    try {
      await t.service.sendNonEsalesClick(click());
      await rejectionOf(t.service.sendNonEsalesClick({ ...VISITOR }));
      t.standIn.respondWith(() => ({ status: 400 }));
      await rejectionOf(t.service.sendNonEsalesClick(click()));
      expect(await t.service.flush()).toBe(true);
      const s = await harness.collect();
      expect(s.names.filter((n) => n.startsWith('esales.'))).toEqual([]);
      expect(t.service.getStats()).toMatchObject({ enqueued: 2, sent: 1, rejected: 1, skipped: 1 });
      // The global provider works: an instrument of the test's own is exported.
      const { metrics } = await import('@opentelemetry/api');
      metrics.getMeter('probe').createCounter('probe.count').add(1);
      expect((await harness.collect()).names).toContain('probe.count');
    } finally {
      await t.close();
    }
  });
});
