import { createHmac } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CustomerKeyAuthentication } from '../../lib/auth/customer-key-authentication.js';
import type { EsalesTransportName } from '../../lib/config/esales-options.interface.js';
import type { EsalesDeliveryEvent } from '../../lib/delivery/esales-delivery-hooks.interface.js';
import { EsalesBadRequestError } from '../../lib/errors/esales-bad-request.error.js';
import { EsalesError } from '../../lib/errors/esales.error.js';
import { EsalesNetworkError } from '../../lib/errors/esales-network.error.js';
import { EsalesServerError } from '../../lib/errors/esales-server.error.js';
import { EsalesTimeoutError } from '../../lib/errors/esales-timeout.error.js';
import { EsalesValidationError } from '../../lib/errors/esales-validation.error.js';
import type { EsalesNotificationService } from '../../lib/esales-notification.service.js';
import { ElevateStandIn } from '../../lib/testing/elevate-stand-in.js';
import { TEST_PRIVATE_KEY, testApp, type TestApp } from '../support/test-app.js';

/*
 * Every v1 notification kind against the stand-in, through both transports: the exact bytes and
 * query on the wire, how each kind's answers map to errors, validation, payment signing, the payment
 * retry rule on real sockets, dedupe and per-kind stats. The expected bodies are written out by
 * hand from the API notes, not built from the package's code.
 */

const PREFIX = '/api/v1/notifications/';
const C = 'd9528030-509c-4e0f-b585-7168f1e9feca';
const S = 'b106299c-eac0-4f6f-96d2-93e57c255784';
const VISITOR = { customerKey: C, sessionKey: S };
const SIGNED_IN = new CustomerKeyAuthentication(TEST_PRIVATE_KEY, 'internal-user-7');
const K = SIGNED_IN.customerKey;
const T = SIGNED_IN.token;
const TICKET = 'OzE7MjQ7MTc7cHJvZHVjdDtzaGlydF83OTcwOTs';
const TRANSPORTS: readonly EsalesTransportName[] = ['undici', 'axios'];

const hmac = (body: string): string =>
  createHmac('sha256', TEST_PRIVATE_KEY).update(body, 'utf8').digest('hex');

interface WireCase {
  readonly name: string;
  readonly kind: string;
  readonly send: (service: EsalesNotificationService) => Promise<void>;
  readonly body: string;
  /** The payment is signed: the query carries the HMAC of the body. */
  readonly signed?: boolean;
}

const WIRE_CASES: readonly WireCase[] = [
  {
    name: 'non-esales-click',
    kind: 'non-esales-click',
    send: (s) => s.sendNonEsalesClick({ ...VISITOR, id: 'n-1', productKey: 'p', variantKey: null }),
    body: `{"market":"UK","customerKey":"${C}","sessionKey":"${S}","id":"n-1","productKey":"p","variantKey":null}`,
  },
  {
    name: 'click',
    kind: 'click',
    send: (s) => s.sendClick({ ...VISITOR, id: 'n-2', ticket: TICKET }),
    body: `{"market":"UK","customerKey":"${C}","sessionKey":"${S}","id":"n-2","ticket":"${TICKET}"}`,
  },
  {
    name: 'click, signed in, in another market',
    kind: 'click',
    send: (s) =>
      s.sendClick({ market: 'Sweden', customerKey: K, sessionKey: S, token: T, ticket: TICKET }),
    // The id is generated: checked apart.
    body: `{"market":"Sweden","customerKey":"${K}","sessionKey":"${S}","id":"<id>","token":"${T}","ticket":"${TICKET}"}`,
  },
  {
    name: 'adding-to-cart',
    kind: 'adding-to-cart',
    send: (s) => s.sendAddingToCart({ ...VISITOR, id: 'n-3', token: null, ticket: TICKET }),
    body: `{"market":"UK","customerKey":"${C}","sessionKey":"${S}","id":"n-3","ticket":"${TICKET}"}`,
  },
  {
    name: 'non-esales-adding-to-cart, variant only',
    kind: 'non-esales-adding-to-cart',
    send: (s) => s.sendNonEsalesAddingToCart({ ...VISITOR, id: 'n-4', variantKey: 'v-grey' }),
    body: `{"market":"UK","customerKey":"${C}","sessionKey":"${S}","id":"n-4","productKey":null,"variantKey":"v-grey"}`,
  },
  {
    name: 'payment, signed (the market has a private key)',
    kind: 'payment',
    signed: true,
    send: (s) =>
      s.sendPayment({
        ...VISITOR,
        lines: [
          { productKey: 'p', quantity: 2, sellingPrice: 99.5 },
          { variantKey: 'v', quantity: 1, sellingPrice: 10 },
        ],
      }),
    body: `{"market":"UK","customerKey":"${C}","sessionKey":"${S}","lines":[{"productKey":"p","variantKey":null,"quantity":2,"sellingPrice":99.5},{"productKey":null,"variantKey":"v","quantity":1,"sellingPrice":10}]}`,
  },
  {
    name: 'payment, signed in, with cost',
    kind: 'payment',
    signed: true,
    send: (s) =>
      s.sendPayment({
        customerKey: K,
        sessionKey: S,
        token: T.toUpperCase(),
        lines: [{ productKey: 'p', variantKey: 'v', quantity: 3, sellingPrice: 100, cost: 60.25 }],
      }),
    body: `{"market":"UK","customerKey":"${K}","sessionKey":"${S}","token":"${T}","lines":[{"productKey":"p","variantKey":"v","quantity":3,"sellingPrice":100,"cost":60.25}]}`,
  },
  {
    name: 'payment, unsigned (Norway has no private key)',
    kind: 'payment',
    send: (s) =>
      s.sendPayment({
        market: 'Norway',
        ...VISITOR,
        lines: [{ productKey: 'p', quantity: 1, sellingPrice: 5 }],
      }),
    body: `{"market":"Norway","customerKey":"${C}","sessionKey":"${S}","lines":[{"productKey":"p","variantKey":null,"quantity":1,"sellingPrice":5}]}`,
  },
  {
    name: 'end',
    kind: 'end',
    send: (s) => s.sendEndSession(VISITOR),
    body: `{"market":"UK","customerKey":"${C}","sessionKey":"${S}"}`,
  },
  {
    name: 'end, signed in',
    kind: 'end',
    send: (s) => s.sendEndSession({ customerKey: K, sessionKey: S, token: T }),
    body: `{"market":"UK","customerKey":"${K}","sessionKey":"${S}","token":"${T}"}`,
  },
];

/** UK and Sweden share the stand-in's private key; Norway has none (its payments are unsigned). */
const MARKETS = {
  privateKey: undefined,
  markets: {
    UK: { privateKey: TEST_PRIVATE_KEY },
    Sweden: { privateKey: TEST_PRIVATE_KEY },
    Norway: {},
  },
} as const;

async function rejection(promise: Promise<unknown>): Promise<EsalesError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EsalesError) return error;
    throw error;
  }
  throw new Error('expected the promise to reject');
}

/** A loopback port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe.each(TRANSPORTS)('every notification kind with the %s transport', (transport) => {
  let t: TestApp;
  const delivered: EsalesDeliveryEvent[] = [];
  const failed: EsalesDeliveryEvent[] = [];

  beforeAll(async () => {
    t = await testApp({
      options: {
        ...MARKETS,
        transport,
        maxAttempts: 3,
        requestTimeoutMs: 300,
        onDelivered: (event: EsalesDeliveryEvent) => void delivered.push(event),
        onFailed: (event: EsalesDeliveryEvent) => void failed.push(event),
      },
    });
  });
  afterAll(() => t.close());
  beforeEach(() => {
    t.standIn.clear();
    t.standIn.respondWith();
  });

  describe('on the wire', () => {
    it.each(WIRE_CASES)('$name: the documented fields in order, byte for byte', async (c) => {
      await c.send(t.service);
      expect(t.standIn.requests).toHaveLength(1);
      const [request] = t.standIn.requests;
      const [path, query] = (request?.path ?? '').split('?');
      expect(path).toBe(PREFIX + c.kind);
      expect(request?.kind).toBe(c.kind);
      expect(request?.status).toBe(204);
      expect(request?.headers['content-type']).toBe('application/json');
      const raw = request?.rawBody ?? '';
      const id = (request?.body as { id?: unknown }).id;
      expect(raw).toBe(c.body.replace('<id>', typeof id === 'string' ? id : '<none>'));
      if (c.signed) {
        // Recomputed from the bytes the stand-in received.
        expect(query).toBe(`paymentToken=${hmac(raw)}`);
      } else {
        expect(query).toBeUndefined();
      }
    });

    it('generates an id for the kinds that have one, and sends none for payment and end', async () => {
      await t.service.sendClick({ ...VISITOR, ticket: TICKET });
      await t.service.sendEndSession(VISITOR);
      await t.service.sendPayment({
        ...VISITOR,
        lines: [{ productKey: 'p', quantity: 1, sellingPrice: 1 }],
      });
      const [click, end, payment] = t.standIn.requests.map(
        (r) => r.body as Record<string, unknown>,
      );
      expect(click?.['id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(end).not.toHaveProperty('id');
      expect(payment).not.toHaveProperty('id');
    });

    it('tells the hooks the kind, and an id of its own for a payment, never sent', async () => {
      delivered.length = 0;
      await t.service.sendPayment({
        ...VISITOR,
        lines: [{ productKey: 'p', quantity: 1, sellingPrice: 1 }],
      });
      await t.service.flush();
      expect(delivered).toEqual([
        expect.objectContaining({ kind: 'payment', market: 'UK', productKey: null, attempts: 1 }),
      ]);
      expect(t.standIn.requests[0]?.rawBody).not.toContain(delivered[0]?.id);
    });
  });

  describe("Elevate's answers, per kind", () => {
    it.each([
      [
        'non-esales-click',
        (s: EsalesNotificationService) => s.sendNonEsalesClick({ ...VISITOR, productKey: 'p' }),
        'product key missing',
      ],
      [
        'click',
        (s: EsalesNotificationService) => s.sendClick({ ...VISITOR, ticket: TICKET }),
        'ticket missing',
      ],
      [
        'adding-to-cart',
        (s: EsalesNotificationService) => s.sendAddingToCart({ ...VISITOR, ticket: TICKET }),
        'ticket missing',
      ],
      [
        'non-esales-adding-to-cart',
        (s: EsalesNotificationService) =>
          s.sendNonEsalesAddingToCart({ ...VISITOR, productKey: 'p' }),
        'product key missing',
      ],
      [
        'payment',
        (s: EsalesNotificationService) =>
          s.sendPayment({ ...VISITOR, lines: [{ productKey: 'p', quantity: 1, sellingPrice: 1 }] }),
        'the payment was invalid',
      ],
      ['end', (s: EsalesNotificationService) => s.sendEndSession(VISITOR), 'no reason given'],
    ] as const)(
      '%s: a 400 without a body is an EsalesBadRequestError naming the kind',
      async (kind, send, hint) => {
        t.standIn.respondWith(() => ({ status: 400 }));
        const error = await rejection(send(t.service));
        expect(error).toBeInstanceOf(EsalesBadRequestError);
        expect(error).toMatchObject({
          kind,
          status: 400,
          endpoint: `${t.standIn.url}${PREFIX}${kind}`,
        });
        expect(error.message).toContain(`${kind} notification`);
        expect(error.message).toContain(`(${hint})`);
        expect(t.standIn.requests).toHaveLength(1);
      },
    );

    it("maps the stand-in's 403 for a forged token on a payment, and keeps the token out of the error", async () => {
      const forged = 'f'.repeat(64);
      const error = await rejection(
        t.service.sendPayment({
          customerKey: K,
          sessionKey: S,
          token: forged,
          lines: [{ productKey: 'p', quantity: 1, sellingPrice: 1 }],
        }),
      );
      expect(error).toMatchObject({
        name: 'EsalesCustomerKeyRejectedError',
        status: 403,
        kind: 'payment',
      });
      expect(error.endpoint).toBe(`${t.standIn.url}${PREFIX}payment`);
      const paymentToken = t.standIn.requests[0]?.query['paymentToken'] ?? '';
      expect(paymentToken).toMatch(/^[0-9a-f]{64}$/);
      for (const secret of [forged, paymentToken, TEST_PRIVATE_KEY]) {
        expect(
          JSON.stringify({ ...error, message: error.message, stack: error.stack }),
        ).not.toContain(secret);
      }
    });

    it('a payment that fails never shows its payment token in the error, the events or the logs', async () => {
      failed.length = 0;
      t.standIn.respondWith(() => ({ status: 500, body: 'echo' }));
      const error = await rejection(
        t.service.sendPayment({
          ...VISITOR,
          lines: [{ productKey: 'p', quantity: 1, sellingPrice: 1 }],
        }),
      );
      await t.service.flush();
      expect(error).toBeInstanceOf(EsalesServerError);
      const paymentToken = t.standIn.requests[0]?.query['paymentToken'] ?? 'missing';
      expect(error.endpoint).not.toContain('?');
      const everything = JSON.stringify({
        message: error.message,
        error: { ...error },
        failed,
        logs: t.logs.lines,
        stats: t.service.getStats(),
      });
      expect(everything).not.toContain(paymentToken);
      expect(everything).not.toContain('paymentToken');
      expect(failed).toEqual([expect.objectContaining({ kind: 'payment' })]);
    });
  });

  describe('validation, before any I/O', () => {
    const line = { productKey: 'p', quantity: 1, sellingPrice: 10 };
    it.each([
      [
        'a click without a ticket',
        (s: EsalesNotificationService) => s.sendClick({ ...VISITOR } as never),
        'click notification',
        'ticket',
        'Ticket is missing.',
      ],
      [
        'an adding to cart with an array as ticket',
        (s: EsalesNotificationService) =>
          s.sendAddingToCart({ ...VISITOR, ticket: ['a'] } as never),
        'adding-to-cart notification',
        'ticket',
        'ticket must be a string',
      ],
      [
        'a non-eSales adding to cart without keys',
        (s: EsalesNotificationService) => s.sendNonEsalesAddingToCart({ ...VISITOR }),
        'non-eSales adding-to-cart notification',
        'productKey',
        'Product key is missing.',
      ],
      [
        'an end without a session key',
        (s: EsalesNotificationService) => s.sendEndSession({ customerKey: C } as never),
        'end-of-session notification',
        'sessionKey',
        'sessionKey must be a string',
      ],
      [
        'a payment without lines',
        (s: EsalesNotificationService) => s.sendPayment({ ...VISITOR, lines: [] }),
        'payment notification',
        'lines',
        'a payment needs at least one line',
      ],
      [
        'a payment of 1 001 lines',
        (s: EsalesNotificationService) =>
          s.sendPayment({ ...VISITOR, lines: Array.from({ length: 1001 }, () => line) }),
        'payment notification',
        'lines',
        'lines must contain no more than 1000 elements',
      ],
      [
        'a line without product or variant key',
        (s: EsalesNotificationService) =>
          s.sendPayment({ ...VISITOR, lines: [line, { quantity: 1, sellingPrice: 1 }] }),
        'payment notification',
        'lines[1].productKey',
        'each line needs a productKey or a variantKey',
      ],
      [
        'a quantity of 0',
        (s: EsalesNotificationService) =>
          s.sendPayment({ ...VISITOR, lines: [{ ...line, quantity: 0 }] }),
        'payment notification',
        'lines[0].quantity',
        'quantity must be a positive number',
      ],
      [
        'a fractional quantity',
        (s: EsalesNotificationService) =>
          s.sendPayment({ ...VISITOR, lines: [{ ...line, quantity: 1.5 }] }),
        'payment notification',
        'lines[0].quantity',
        'quantity must be an integer number',
      ],
      [
        'a price that is not finite',
        (s: EsalesNotificationService) =>
          s.sendPayment({
            ...VISITOR,
            lines: [{ ...line, sellingPrice: Number.POSITIVE_INFINITY }],
          }),
        'payment notification',
        'lines[0].sellingPrice',
        'sellingPrice must be a number conforming to the specified constraints',
      ],
      [
        'a cost of 0',
        (s: EsalesNotificationService) =>
          s.sendPayment({ ...VISITOR, lines: [{ ...line, cost: 0 }] }),
        'payment notification',
        'lines[0].cost',
        'cost must be a non-zero number below sellingPrice',
      ],
      [
        'a cost above the price',
        (s: EsalesNotificationService) =>
          s.sendPayment({ ...VISITOR, lines: [{ ...line, cost: 11 }] }),
        'payment notification',
        'lines[0].cost',
        'cost must be a non-zero number below sellingPrice',
      ],
      [
        'a cost in a market without a private key (it could not be signed)',
        (s: EsalesNotificationService) =>
          s.sendPayment({ market: 'Norway', ...VISITOR, lines: [line, { ...line, cost: 5 }] }),
        'payment notification',
        'lines[1].cost',
        "cost is only accepted in a secure payment, and this market has no private key: configure the market's privateKey, or leave cost out",
      ],
      [
        'a dedupeKey with a control character',
        (s: EsalesNotificationService) =>
          s.sendPayment({ ...VISITOR, lines: [line] }, { dedupeKey: 'o\n1' }),
        'payment notification',
        'dedupeKey',
        'dedupeKey must be a non-empty string of at most 256 characters without control characters',
      ],
    ] as const)('rejects %s', async (_name, send, subject, field, message) => {
      const error = await rejection(send(t.service));
      expect(error).toBeInstanceOf(EsalesValidationError);
      expect(error.message.startsWith(`Invalid ${subject}: `)).toBe(true);
      expect((error as EsalesValidationError).problems).toContainEqual({
        field,
        messages: [message],
      });
      expect(t.standIn.requests).toHaveLength(0);
    });

    it('counts invalid notifications per kind', async () => {
      const before = t.service.getStats().byKind.payment.skippedBy.invalid;
      await rejection(t.service.sendPayment({ ...VISITOR, lines: [] }));
      expect(t.service.getStats().byKind.payment.skippedBy.invalid).toBe(before + 1);
    });
  });

  describe('payments are retried only when Elevate surely did not take them', () => {
    const payment = { ...VISITOR, lines: [{ productKey: 'p', quantity: 1, sellingPrice: 1 }] };

    it('retries after a 503, with the same bytes and the same token', async () => {
      let answered = 0;
      t.standIn.respondWith((_request, elevate) =>
        answered++ === 0 ? { status: 503 } : elevate(),
      );
      await t.service.sendPayment(payment);
      const [first, second] = t.standIn.requests;
      expect(t.standIn.requests).toHaveLength(2);
      expect(second?.rawBody).toBe(first?.rawBody);
      expect(second?.path).toBe(first?.path);
      expect(second?.status).toBe(204);
    });

    it('does not retry after a timeout, and says why', async () => {
      const before = t.service.getStats().byKind.payment;
      t.standIn.respondWith(() => 'hang');
      const error = await rejection(t.service.sendPayment(payment));
      expect(error).toBeInstanceOf(EsalesTimeoutError);
      expect(error.message).toContain('Not retried: Elevate may have received it');
      expect(t.standIn.requests).toHaveLength(1);
      const after = t.service.getStats().byKind.payment;
      expect(after.failed - before.failed).toBe(1);
      expect(after.notRetried - before.notRetried).toBe(1);
    });

    it('does not retry after the connection was lost once the request was written', async () => {
      const before = t.service.getStats().byKind.payment.notRetried;
      t.standIn.respondWith(() => 'reset');
      const error = await rejection(t.service.sendPayment(payment));
      expect(error).toBeInstanceOf(EsalesNetworkError);
      expect(error.message).toContain('payment carries no id');
      expect(t.standIn.requests).toHaveLength(1);
      expect(t.service.getStats().byKind.payment.notRetried).toBe(before + 1);
    });

    it('while a click in the same situation is retried', async () => {
      let answered = 0;
      t.standIn.respondWith((_request, elevate) => (answered++ === 0 ? 'hang' : elevate()));
      await t.service.sendClick({ ...VISITOR, ticket: TICKET });
      expect(t.standIn.requests).toHaveLength(2);
    });
  });

  describe('dedupeKey', () => {
    const payment = { ...VISITOR, lines: [{ productKey: 'p', quantity: 1, sellingPrice: 1 }] };

    it('sends a double-submitted checkout once, and counts the duplicate', async () => {
      const before = t.service.getStats().byKind.payment.skippedBy.duplicate;
      await t.service.sendPayment(payment, { dedupeKey: `order-${transport}-1` });
      await t.service.sendPayment(payment, { dedupeKey: `order-${transport}-1` });
      t.service.enqueuePayment(payment, { dedupeKey: `order-${transport}-1` });
      await t.service.sendPayment(payment, { dedupeKey: `order-${transport}-2` });
      // The same order id in another market is another purchase.
      await t.service.sendPayment(
        { ...payment, market: 'Sweden' },
        { dedupeKey: `order-${transport}-1` },
      );
      await t.service.flush();
      expect(t.standIn.requestsOf('payment')).toHaveLength(3);
      const stats = t.service.getStats();
      expect(stats.byKind.payment.skippedBy.duplicate - before).toBe(2);
      expect(stats.skippedBy.duplicate - before).toBe(2);
    });

    it('keeps the key of a payment Elevate may have taken: after a timeout, a resubmit is skipped', async () => {
      t.standIn.respondWith(() => 'hang');
      await rejection(t.service.sendPayment(payment, { dedupeKey: `order-${transport}-4` }));
      t.standIn.respondWith();
      await t.service.sendPayment(payment, { dedupeKey: `order-${transport}-4` });
      expect(t.standIn.requests).toHaveLength(1);
    });

    it('lets a payment that was not delivered be sent again', async () => {
      t.standIn.respondWith(() => ({ status: 400 }));
      await rejection(t.service.sendPayment(payment, { dedupeKey: `order-${transport}-3` }));
      t.standIn.respondWith();
      await t.service.sendPayment(payment, { dedupeKey: `order-${transport}-3` });
      expect(t.standIn.requests.map((r) => r.status)).toEqual([400, 204]);
    });
  });

  it('counts per kind, and the kinds add up to the totals', async () => {
    await t.service.flush();
    const stats = t.service.getStats();
    const kinds = Object.values(stats.byKind);
    for (const kind of [stats, ...kinds]) {
      expect(kind.enqueued).toBe(
        kind.sent + kind.rejected + kind.dropped + kind.expired + kind.failed,
      );
    }
    for (const counter of [
      'enqueued',
      'sent',
      'rejected',
      'failed',
      'retried',
      'skipped',
      'notRetried',
    ] as const) {
      expect(kinds.reduce((sum, kind) => sum + kind[counter], 0)).toBe(stats[counter]);
    }
    expect(stats.byKind.end.sent).toBeGreaterThanOrEqual(2);
    expect(stats.byKind.payment.enqueued).toBe(
      stats.byKind.payment.sent +
        stats.byKind.payment.rejected +
        stats.byKind.payment.failed +
        stats.byKind.payment.expired +
        stats.byKind.payment.dropped,
    );
  });
});

describe.each(TRANSPORTS)('a payment and a refused connection (%s)', (transport) => {
  it('is retried: the request never left', async () => {
    const port = await freePort();
    const t = await testApp({
      options: {
        clusterUrl: `http://127.0.0.1:${port}`,
        transport,
        retryBaseDelayMs: 200,
        retryMaxDelayMs: 200,
      },
    });
    let late: ElevateStandIn | undefined;
    try {
      const sent = t.service.sendPayment({
        ...VISITOR,
        lines: [{ productKey: 'p', quantity: 1, sellingPrice: 1 }],
      });
      // The first attempt was refused and the payment waits for its retry: now the cluster comes up.
      await until(() => t.service.getStats().retrying === 1, 'the first attempt to be refused');
      late = await ElevateStandIn.start({ privateKey: TEST_PRIVATE_KEY, port });
      await sent;
      expect(late.requestsOf('payment')).toHaveLength(1);
      expect(late.requests[0]?.status).toBe(204);
      expect(t.service.getStats().byKind.payment).toMatchObject({
        sent: 1,
        retried: 1,
        notRetried: 0,
      });
    } finally {
      await t.close();
      await late?.close();
    }
  });
});
