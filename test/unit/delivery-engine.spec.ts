import { describe, expect, it } from '@jest/globals';
import type { Logger } from '@nestjs/common';
import { DeliveryEngine, type DeliveryTarget } from '../../lib/delivery/delivery-engine.js';
import type { DeliverySettings } from '../../lib/delivery/delivery-settings.interface.js';
import { systemClock } from '../../lib/delivery/clock.js';
import { DeliveryStats } from '../../lib/delivery/delivery-stats.js';
import type { PreparedNotification } from '../../lib/notifications/notification-kind.js';
import {
  EsalesTransportFailure,
  type EsalesTransport,
  type EsalesTransportRequest,
  type EsalesTransportResponse,
} from '../../lib/transport/esales-transport.interface.js';
import { ManualClock } from '../support/manual-clock.js';

/*
 * The engine's scheduling on a manual clock and a scripted transport: each request waits until the
 * spec answers it, and time moves only when the spec says so. No sockets, no sleeping. The e2e
 * suites check the same behaviour against real sockets; these pin the decisions exactly.
 */

const SETTINGS: DeliverySettings = {
  maxQueueSize: 100,
  concurrency: { mode: 'fixed', limit: 2 },
  maxAttempts: 20,
  retryBaseDelayMs: 100,
  retryMaxDelayMs: 100,
  deliveryTimeoutMs: 10_000,
  requestTimeoutMs: 1_000,
  shutdownTimeoutMs: 1_000,
  // Out of the way: cockatiel times its cooldown on the wall clock.
  breakerThreshold: 10_000,
  breakerCooldownMs: 1_000,
  warnIntervalMs: 10_000,
};

const silent = { log() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;

/** A transport whose requests wait until the spec answers them. */
class ScriptedTransport implements EsalesTransport {
  readonly pending: {
    request: EsalesTransportRequest;
    answer(status: number, retryAfter?: string): void;
    fail(failure: EsalesTransportFailure): void;
  }[] = [];
  readonly sent: string[] = [];

  send(request: EsalesTransportRequest): Promise<EsalesTransportResponse> {
    this.sent.push(
      `${new URL(request.url).host} ${(JSON.parse(request.body) as { id: string }).id}`,
    );
    return new Promise((resolve, reject) => {
      this.pending.push({
        request,
        answer: (status, retryAfter) =>
          resolve(
            retryAfter === undefined ? { status, body: '' } : { status, body: '', retryAfter },
          ),
        fail: reject,
      });
    });
  }

  /** Fails the oldest pending request without an answer. */
  failNext(failure: EsalesTransportFailure): void {
    const next = this.pending.shift();
    if (!next) throw new Error('no request is pending');
    next.fail(failure);
  }

  /** Answers the oldest pending request. */
  answerNext(status: number, retryAfter?: string): void {
    const next = this.pending.shift();
    if (!next) throw new Error('no request is pending');
    next.answer(status, retryAfter);
  }
}

const prepared = (id: string): PreparedNotification => ({
  kind: 'non-esales-click',
  retry: 'at-least-once',
  market: 'UK',
  id,
  body: JSON.stringify({ market: 'UK', id }),
  query: '',
  secrets: [],
  customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
  sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
  productKey: id,
  variantKey: null,
});

const A: DeliveryTarget = { clusterUrl: 'http://a.test', endpoint: 'http://a.test/x' };
const B: DeliveryTarget = { clusterUrl: 'http://b.test', endpoint: 'http://b.test/x' };

function engineWith(settings: Partial<DeliverySettings> = {}) {
  const clock = new ManualClock();
  const transport = new ScriptedTransport();
  const stats = new DeliveryStats();
  const engine = new DeliveryEngine(
    { ...SETTINGS, ...settings },
    transport,
    silent,
    [stats],
    clock,
    [A.clusterUrl],
  );
  return { clock, transport, stats, engine };
}

describe('DeliveryEngine (manual clock)', () => {
  it('starts nothing on the enqueueing turn, then exactly the fixed limit', async () => {
    const { clock, transport, engine } = engineWith();
    for (let i = 0; i < 5; i++) engine.enqueue(prepared(`n${i}`), A);
    expect(transport.sent).toEqual([]);
    await clock.settle();
    expect(transport.pending).toHaveLength(2);
    expect(engine.state()).toMatchObject({ queued: 3, inFlight: 2, retrying: 0 });
    transport.answerNext(204);
    await clock.settle();
    expect(transport.sent).toHaveLength(3);
    expect(engine.state().inFlight).toBe(2);
  });

  it('gives the slot back while a notification sleeps before its retry', async () => {
    const { clock, transport, stats, engine } = engineWith({
      concurrency: { mode: 'fixed', limit: 1 },
    });
    engine.enqueue(prepared('first'), A);
    engine.enqueue(prepared('second'), A);
    await clock.settle();
    transport.answerNext(503);
    await clock.settle();
    // "first" sleeps out its backoff; "second" has the slot.
    expect(transport.sent).toEqual(['a.test first', 'a.test second']);
    expect(engine.state()).toMatchObject({ retrying: 1, inFlight: 1, queued: 0 });
    transport.answerNext(204);
    await clock.advance(100);
    expect(transport.sent).toEqual(['a.test first', 'a.test second', 'a.test first']);
    transport.answerNext(204);
    await clock.settle();
    expect(stats.totals()).toMatchObject({ enqueued: 2, sent: 2, retried: 1 });
    expect(engine.state()).toMatchObject({ retrying: 0, inFlight: 0, queued: 0 });
  });

  it('holds every attempt to the cluster while a 503 Retry-After runs, not only the one that got it', async () => {
    const { clock, transport, engine } = engineWith({ retryMaxDelayMs: 5_000 });
    engine.enqueue(prepared('first'), A);
    await clock.settle();
    transport.answerNext(503, '2');
    await clock.settle();
    engine.enqueue(prepared('second'), A);
    await clock.advance(1_999);
    expect(transport.sent).toEqual(['a.test first']);
    expect(engine.state().clusters[A.clusterUrl]?.heldUntil).not.toBeNull();
    await clock.advance(1);
    expect(transport.sent.slice(1).sort()).toEqual(['a.test first', 'a.test second']);
  });

  it('retries until the budget is spent, not until a count runs out', async () => {
    const { clock, transport, stats, engine } = engineWith({
      deliveryTimeoutMs: 3_000,
      maxAttempts: 1_000,
    });
    engine.enqueue(prepared('n'), A);
    await clock.settle();
    for (let i = 0; i < 100 && transport.pending.length > 0; i++) {
      transport.answerNext(503);
      await clock.advance(100);
    }
    // 100 ms backoff each, 1 000 ms (a full attempt) kept in hand: about 20 attempts in 3 s.
    expect(stats.totals().expired).toBe(1);
    expect(stats.totals().failed).toBe(0);
    expect(transport.sent.length).toBeGreaterThanOrEqual(19);
    expect(transport.sent.length).toBeLessThanOrEqual(21);
  });

  it('ends at maxAttempts only when the count is lower than the budget allows', async () => {
    const { clock, transport, stats, engine } = engineWith({ maxAttempts: 3 });
    engine.enqueue(prepared('n'), A);
    await clock.settle();
    for (let i = 0; i < 3; i++) {
      transport.answerNext(503);
      await clock.advance(100);
    }
    expect(stats.totals()).toMatchObject({ failed: 1, retried: 2 });
    expect(transport.pending).toHaveLength(0);
  });

  it('expires what waited in the queue past its budget, and counts it once', async () => {
    const { clock, transport, stats, engine } = engineWith({
      concurrency: { mode: 'fixed', limit: 1 },
      deliveryTimeoutMs: 2_000,
    });
    engine.enqueue(prepared('slow'), A);
    engine.enqueue(prepared('behind'), A);
    await clock.settle();
    // "slow" holds the only slot for 1.5 s: "behind" has less than a full attempt (1 s) left.
    await clock.advance(1_500);
    transport.answerNext(204);
    await clock.settle();
    expect(stats.totals()).toMatchObject({ sent: 1, expired: 1 });
    expect(transport.sent).toEqual(['a.test slow']);
    expect(engine.state()).toMatchObject({ queued: 0, inFlight: 0, retrying: 0 });
  });

  it('gives each cluster its own limit: a stalled one does not hold up another', async () => {
    const { clock, transport, stats, engine } = engineWith();
    for (let i = 0; i < 4; i++) engine.enqueue(prepared(`a${i}`), A);
    for (let i = 0; i < 4; i++) engine.enqueue(prepared(`b${i}`), B);
    await clock.settle();
    expect(transport.sent).toEqual(['a.test a0', 'a.test a1', 'b.test b0', 'b.test b1']);
    // Answer only B's, one at a time: B drains while A's two stay out.
    for (let i = 0; i < 4; i++) {
      const index = transport.pending.findIndex((p) => p.request.url.startsWith(B.clusterUrl));
      transport.pending.splice(index, 1)[0]!.answer(204);
      await clock.settle();
    }
    expect(stats.totals().sent).toBe(4);
    const { clusters } = engine.state();
    expect(clusters[A.clusterUrl]).toMatchObject({ inFlight: 2, queued: 2, concurrencyLimit: 2 });
    expect(clusters[B.clusterUrl]).toMatchObject({ inFlight: 0, queued: 0, concurrencyLimit: 2 });
  });

  it('abandons what is left at shutdown and tells a flush() still waiting at once', async () => {
    const { clock, transport, stats, engine } = engineWith({ shutdownTimeoutMs: 10 });
    for (let i = 0; i < 3; i++) engine.enqueue(prepared(`n${i}`), A);
    await clock.settle();
    // Far longer than the test may take: only the abandon can resolve it in time.
    const waiting = engine.flush(60_000);
    await engine.shutdown();
    await expect(waiting).resolves.toBe(true);
    expect(stats.totals()).toMatchObject({ enqueued: 3, dropped: 3, abandoned: 3 });
    // Answers that come back after the abandon change nothing.
    transport.answerNext(204);
    await clock.settle();
    expect(stats.totals().sent).toBe(0);
    expect(engine.state()).toMatchObject({ queued: 0, retrying: 0, inFlight: 0 });
  });

  it('adapts: grows while a slow cluster keeps a flat latency', async () => {
    const { clock, transport, engine } = engineWith({
      concurrency: { mode: 'adaptive', min: 4, max: 64 },
    });
    for (let i = 0; i < 200; i++) engine.enqueue(prepared(`n${i}`), A);
    await clock.settle();
    expect(transport.pending).toHaveLength(8);
    // Rounds of 250 ms: every request answered after the same round trip.
    for (let round = 0; round < 4; round++) {
      await clock.advance(250);
      for (let i = transport.pending.length; i > 0; i--) transport.answerNext(204);
      await clock.settle();
    }
    expect(engine.state().clusters[A.clusterUrl]?.concurrencyLimit).toBe(64);
    expect(engine.state().clusters[A.clusterUrl]?.latencyBaselineMs).toBe(250);
  });

  describe('a payment (no id: retried only when Elevate surely did not take it)', () => {
    const payment = (id: string): PreparedNotification => ({
      ...prepared(id),
      kind: 'payment',
      retry: 'only-when-not-received',
    });

    /** One payment through one failure, then a 204 if it is retried; what became of it. */
    async function outcomeAfter(fail: (transport: ScriptedTransport) => void) {
      const { clock, transport, stats, engine } = engineWith();
      let error: Error | undefined;
      engine.enqueue(payment('p'), A, { resolve: () => undefined, reject: (e) => (error = e) });
      await clock.settle();
      fail(transport);
      await clock.advance(100);
      if (transport.pending.length > 0) transport.answerNext(204);
      await clock.settle();
      return {
        attempts: transport.sent.length,
        totals: stats.totals(),
        byKind: stats.byKind(),
        error,
      };
    }

    it.each([
      ['a 503', (t: ScriptedTransport) => t.answerNext(503)],
      ['a 429', (t: ScriptedTransport) => t.answerNext(429)],
      [
        'ECONNREFUSED',
        (t: ScriptedTransport) => t.failNext(new EsalesTransportFailure('network', 'ECONNREFUSED')),
      ],
      [
        'ENOTFOUND',
        (t: ScriptedTransport) => t.failNext(new EsalesTransportFailure('network', 'ENOTFOUND')),
      ],
      [
        'EAI_AGAIN',
        (t: ScriptedTransport) => t.failNext(new EsalesTransportFailure('network', 'EAI_AGAIN')),
      ],
      [
        'a connect timeout',
        (t: ScriptedTransport) =>
          t.failNext(new EsalesTransportFailure('timeout', 'UND_ERR_CONNECT_TIMEOUT')),
      ],
      [
        'a deadline before the request was written',
        (t: ScriptedTransport) =>
          t.failNext(new EsalesTransportFailure('timeout', 'ETIMEDOUT', false)),
      ],
      [
        'a reset before the request was written',
        (t: ScriptedTransport) =>
          t.failNext(new EsalesTransportFailure('network', 'ECONNRESET', false)),
      ],
    ])('is retried after %s', async (_name, fail) => {
      const { attempts, totals, byKind } = await outcomeAfter(fail);
      expect(attempts).toBe(2);
      expect(totals).toMatchObject({ sent: 1, retried: 1, notRetried: 0 });
      expect(byKind.payment).toMatchObject({ sent: 1, retried: 1 });
    });

    it.each([
      ['a 500', (t: ScriptedTransport) => t.answerNext(500)],
      ['a 502', (t: ScriptedTransport) => t.answerNext(502)],
      [
        'a timeout once written',
        (t: ScriptedTransport) =>
          t.failNext(new EsalesTransportFailure('timeout', 'ETIMEDOUT', true)),
      ],
      [
        'a timeout the transport cannot place',
        (t: ScriptedTransport) => t.failNext(new EsalesTransportFailure('timeout', 'ECONNABORTED')),
      ],
      [
        'a reset once written (a reused keep-alive socket)',
        (t: ScriptedTransport) =>
          t.failNext(new EsalesTransportFailure('network', 'ECONNRESET', true)),
      ],
      [
        'a socket closed by the server',
        (t: ScriptedTransport) =>
          t.failNext(new EsalesTransportFailure('network', 'UND_ERR_SOCKET')),
      ],
    ])('fails without a retry after %s, and says why', async (_name, fail) => {
      const { attempts, totals, byKind, error } = await outcomeAfter(fail);
      expect(attempts).toBe(1);
      expect(totals).toMatchObject({ failed: 1, notRetried: 1, retried: 0, sent: 0 });
      expect(byKind.payment).toMatchObject({ failed: 1, notRetried: 1 });
      expect(byKind['non-esales-click'].failed).toBe(0);
      expect(error?.message).toMatch(
        /Not retried: Elevate may have received it.*count the purchase twice/,
      );
    });

    it('counts a 408 it may not retry as failed, not rejected', async () => {
      const { attempts, totals } = await outcomeAfter((t) => t.answerNext(408));
      expect(attempts).toBe(1);
      expect(totals).toMatchObject({ failed: 1, rejected: 0, notRetried: 1 });
    });

    it('counts its timeouts against the breaker like any failure', async () => {
      const { clock, transport, engine } = engineWith({ breakerThreshold: 2 });
      for (const id of ['p1', 'p2']) engine.enqueue(payment(id), A);
      await clock.settle();
      transport.failNext(new EsalesTransportFailure('timeout', 'ETIMEDOUT', true));
      transport.failNext(new EsalesTransportFailure('timeout', 'ETIMEDOUT', true));
      await clock.settle();
      expect(engine.state().clusters[A.clusterUrl]?.breaker).toBe('open');
    });

    it('is never retried after a 400, like every kind', async () => {
      const { attempts, totals } = await outcomeAfter((t) => t.answerNext(400));
      expect(attempts).toBe(1);
      expect(totals).toMatchObject({ rejected: 1, notRetried: 0 });
    });

    it('leaves every other kind at least once: a click is retried after the same timeout', async () => {
      const { clock, transport, stats, engine } = engineWith();
      engine.enqueue(prepared('c'), A);
      await clock.settle();
      transport.failNext(new EsalesTransportFailure('timeout', 'ETIMEDOUT', true));
      await clock.advance(100);
      transport.answerNext(204);
      await clock.settle();
      expect(stats.totals()).toMatchObject({ sent: 1, retried: 1, notRetried: 0 });
    });
  });
});

describe('systemClock', () => {
  const immediates = (): number =>
    process.getActiveResourcesInfo().filter((resource) => resource === 'Immediate').length;

  // Found by the fuzz suite: an unref'd immediate does not wake an event loop blocked in its poll
  // phase, so a send started from a timer callback waited for the next unrelated timer.
  it('defers on a ref’d immediate, so a deferred pump wakes an idle event loop', async () => {
    const before = immediates();
    let ran = false;
    systemClock.defer(() => {
      ran = true;
    });
    expect(immediates()).toBe(before + 1);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(ran).toBe(true);
  });
});
