import { once } from 'node:events';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CustomerKeyAuthentication } from '../../lib/auth/customer-key-authentication.js';
import type { EsalesTransportName } from '../../lib/config/esales-options.interface.js';
import type { EsalesDeliveryEvent } from '../../lib/delivery/esales-delivery-hooks.interface.js';
import { EsalesError } from '../../lib/errors/esales.error.js';
import type { EsalesNotificationService } from '../../lib/esales-notification.service.js';
import { NotificationPipeline } from '../../lib/notification-pipeline.js';
import type { StandInAnswer } from '../../lib/testing/elevate-stand-in.js';
import { testApp, type TestApp } from '../support/test-app.js';
import {
  expectOneSafeLine,
  fuzzParameters,
  hostileString,
  inCase,
  letterCase,
  runsOf,
  sleep,
  timeoutFor,
  trackUnhandledRejections,
  within,
  type LetterCase,
} from './fuzz-support.js';

/*
 * A hostile cluster: arbitrary statuses, Retry-After values, headers and bodies (terminal escapes,
 * C0/C1 controls, format characters, separators, lone surrogates, echoes of the request's secrets in
 * any case, up to 1 MiB, trickled in chunks over a raw socket). Whatever it answers, a send settles
 * with success or an EsalesError; every log line and error message stays one safe line; and no
 * secret (the private key, the visitor's token, the payment token, an unmasked customer or session
 * key) shows in a log line, an error (message, bodyExcerpt, retryAfter, JSON), a hook event or the
 * stats.
 */

/** The markets' private key: long and unlike any text the package writes. */
const PRIVATE_KEY = 'fuzz-private-key-5b0e9c1d7a';

// ---------------------------------------------------------------------------------------------
// What is sent
// ---------------------------------------------------------------------------------------------

type Kind =
  'non-esales-click' | 'click' | 'adding-to-cart' | 'non-esales-adding-to-cart' | 'payment' | 'end';

interface Visitor {
  readonly customerKey: string;
  readonly sessionKey: string;
  readonly token?: string;
}

interface Notification {
  readonly kind: Kind;
  readonly visitor: Visitor;
  readonly market: string | undefined;
  readonly id: string | undefined;
  readonly productKey: string;
  readonly variantKey: string | null;
  readonly ticket: string;
}

/** Whether the package's DTOs take `text` as a key, id or product key: no control characters. */
const noControl = (text: string): boolean => text.length > 0 && !/\p{Cc}/u.test(text);

/**
 * A key as an app may hold it: a UUID, plain text, or text with every character the package lets
 * through (format characters, separators, lone surrogates); now and then one it refuses.
 */
const key = fc.oneof(
  { weight: 4, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{8,40}$/) },
  { weight: 3, arbitrary: hostileString(6).filter(noControl) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }) },
);

const visitor: fc.Arbitrary<Visitor> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ customerKey: key, sessionKey: key }) },
  {
    weight: 3,
    // Signed in: the token in any case (the DTO takes either, the wire gets lower case).
    arbitrary: fc
      .tuple(fc.string({ minLength: 1, maxLength: 20 }), key, letterCase)
      .map(([visitorId, sessionKey, which]) => {
        const auth = new CustomerKeyAuthentication(PRIVATE_KEY, visitorId);
        return { customerKey: auth.customerKey, sessionKey, token: inCase(auth.token, which) };
      }),
  },
);

const notification: fc.Arbitrary<Notification> = fc.record({
  kind: fc.constantFrom<Kind>(
    'non-esales-click',
    'click',
    'adding-to-cart',
    'non-esales-adding-to-cart',
    'payment',
    'payment',
    'end',
  ),
  visitor,
  market: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('UK', 'Sweden', 'Norge', 'Ελλάδα', ' UK ') },
    { weight: 1, arbitrary: hostileString(4) },
  ),
  id: fc.option(fc.oneof(fc.uuid(), hostileString(4).filter(noControl), hostileString(4)), {
    nil: undefined,
  }),
  productKey: fc.oneof(
    fc.stringMatching(/^[a-z0-9-]{1,12}$/),
    hostileString(3).filter(noControl),
    hostileString(3),
  ),
  variantKey: fc.option(fc.stringMatching(/^[a-z0-9-]{1,12}$/), { nil: null }),
  ticket: fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9+/]{4,40}$/),
    hostileString(3).filter(noControl),
    hostileString(3),
  ),
});

function sendTo(service: EsalesNotificationService, n: Notification): Promise<void> {
  const { visitor: v } = n;
  const base = {
    customerKey: v.customerKey,
    sessionKey: v.sessionKey,
    ...(v.token !== undefined ? { token: v.token } : {}),
    ...(n.market !== undefined ? { market: n.market } : {}),
  };
  const id = n.id !== undefined ? { id: n.id } : {};
  switch (n.kind) {
    case 'non-esales-click':
      return service.sendNonEsalesClick({
        ...base,
        ...id,
        productKey: n.productKey,
        variantKey: n.variantKey,
      });
    case 'click':
      return service.sendClick({ ...base, ...id, ticket: n.ticket });
    case 'adding-to-cart':
      return service.sendAddingToCart({ ...base, ...id, ticket: n.ticket });
    case 'non-esales-adding-to-cart':
      return service.sendNonEsalesAddingToCart({
        ...base,
        ...id,
        productKey: n.productKey,
        variantKey: n.variantKey,
      });
    case 'payment':
      // Every market has the private key: the payment is signed (`?paymentToken=`).
      return service.sendPayment({
        ...base,
        lines: [
          {
            productKey: n.productKey,
            variantKey: n.variantKey,
            quantity: 2,
            sellingPrice: 99.5,
            cost: 60,
          },
          { productKey: null, variantKey: 'v-1', quantity: 1, sellingPrice: 5 },
        ],
      });
    case 'end':
      return service.sendEndSession(base);
  }
}

// ---------------------------------------------------------------------------------------------
// What the cluster answers
// ---------------------------------------------------------------------------------------------

/** The request the cluster got, as far as an answer may echo it. */
interface Received {
  readonly rawBody: string;
  readonly paymentToken: string | undefined;
}

type Echoed = 'token' | 'paymentToken' | 'customerKey' | 'sessionKey' | 'requestBody';

/** A piece of an answer: literal text, or an echo of what the request carried. */
type Fragment = { readonly text: string } | { readonly echo: Echoed; readonly case: LetterCase };

const fragment: fc.Arbitrary<Fragment> = fc.oneof(
  { weight: 3, arbitrary: hostileString(6).map((text) => ({ text })) },
  {
    weight: 3,
    arbitrary: fc.record({
      echo: fc.constantFrom<Echoed>(
        'token',
        'paymentToken',
        'customerKey',
        'sessionKey',
        'requestBody',
      ),
      case: letterCase,
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        'Service Unavailable',
        '<html><body><h1>502 Bad Gateway</h1></body></html>',
        '{"error":"overloaded","retry":true}',
        'Product key is missing.',
      )
      .map((text) => ({ text })),
  },
  // Whitespace that pushes what follows past the excerpt, or past what a transport reads (4 KiB).
  {
    weight: 1,
    arbitrary: fc.integer({ min: 100, max: 5_000 }).map((n) => ({ text: ' '.repeat(n) })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 100, max: 5_000 }).map((n) => ({ text: 'x'.repeat(n) })),
  },
);

function render(fragments: readonly Fragment[], n: Notification, received: Received): string {
  return fragments
    .map((f) => {
      if ('text' in f) return f.text;
      const value =
        f.echo === 'token'
          ? (n.visitor.token ?? '')
          : f.echo === 'paymentToken'
            ? (received.paymentToken ?? '')
            : f.echo === 'customerKey'
              ? n.visitor.customerKey
              : f.echo === 'sessionKey'
                ? n.visitor.sessionKey
                : received.rawBody;
      return inCase(value, f.case);
    })
    .join('');
}

interface AnswerPlan {
  readonly status: number;
  readonly retryAfter: readonly Fragment[] | undefined;
  readonly headers: readonly (readonly [string, readonly Fragment[]])[];
  readonly body: readonly Fragment[];
  /** Filler appended to reach a large body (up to 1 MiB), with the body's fragments repeated. */
  readonly largeBytes: number;
  /** Raw answers only: how the body is framed and trickled. */
  readonly framing: 'content-length' | 'chunked' | 'close';
  readonly chunks: number;
  readonly chunkDelayMs: number;
}

const retryAfterValue = fc.oneof(
  fc
    .nat({ max: 120 })
    .map(String)
    .map((text) => [{ text }]),
  fc
    .constantFrom('0', '-1', '1.5', '99999999999999999999', '1e3', ' 3 ', '0x10')
    .map((text) => [{ text }]),
  fc.date({ noInvalidDate: true }).map((d) => [{ text: d.toUTCString() }]),
  fc.array(fragment, { minLength: 1, maxLength: 4 }),
);

const headerName = fc.oneof(
  fc.constantFrom(
    'x-request-id',
    'x-debug',
    'www-authenticate',
    'location',
    'set-cookie',
    'x-echo',
  ),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/),
);

const answerPlan: fc.Arbitrary<AnswerPlan> = fc.record({
  status: fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom(400, 403, 404, 408, 413, 429, 500, 501, 502, 503, 504, 505),
    },
    { weight: 1, arbitrary: fc.constantFrom(200, 201, 202, 204, 301, 302, 304, 307) },
    { weight: 3, arbitrary: fc.integer({ min: 200, max: 599 }) },
  ),
  retryAfter: fc.option(retryAfterValue, { nil: undefined }),
  headers: fc.array(fc.tuple(headerName, fc.array(fragment, { maxLength: 3 })), { maxLength: 3 }),
  body: fc.array(fragment, { maxLength: 8 }),
  largeBytes: fc.oneof(
    { weight: 6, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 4_000, max: 1024 * 1024 }) },
  ),
  framing: fc.constantFrom('content-length', 'chunked', 'close'),
  chunks: fc.integer({ min: 1, max: 8 }),
  chunkDelayMs: fc.integer({ min: 0, max: 15 }),
});

function bodyOf(plan: AnswerPlan, n: Notification, received: Received): string {
  const body = render(plan.body, n, received);
  if (plan.largeBytes <= body.length) return body;
  // Large: the body, a filler of Latin and non-Latin text, and the body again at the end.
  const filler = 'Lorem ipsum \u00e9\u4e2d\u6587 '.repeat(Math.ceil(plan.largeBytes / 16));
  return body + filler.slice(0, plan.largeBytes) + body;
}

/** Latin-1 text Node writes in a header value: UTF-8 bytes, less what it refuses. */
function headerText(text: string, name = 'x-check'): string {
  const latin1 = Buffer.from(text, 'utf8').toString('latin1');
  const kept = [...latin1].filter((c) => {
    try {
      validateHeaderValue(name, c);
      return true;
    } catch {
      return false;
    }
  });
  return kept.join('');
}

/** The answer as the stand-in gives it (headers Node accepts only). */
function standInAnswer(plan: AnswerPlan, n: Notification, received: Received): StandInAnswer {
  const headers: Record<string, string> = {};
  for (const [name, value] of plan.headers) {
    try {
      validateHeaderName(name);
    } catch {
      continue;
    }
    headers[name] = headerText(render(value, n, received), name);
  }
  if (plan.retryAfter) headers['retry-after'] = headerText(render(plan.retryAfter, n, received));
  return { status: plan.status, body: bodyOf(plan, n, received), headers };
}

/** The header block as raw bytes: values may carry any byte but CR and LF. */
function rawHead(
  plan: AnswerPlan,
  n: Notification,
  received: Received,
  bodyLength: number,
): Buffer {
  const lines = [`HTTP/1.1 ${plan.status} Whatever\u001b[31m`];
  const raw = (text: string) =>
    Buffer.from(text, 'utf8')
      .toString('latin1')
      .replace(/[\r\n]/g, '');
  for (const [name, value] of plan.headers)
    lines.push(`${name}: ${raw(render(value, n, received))}`);
  if (plan.retryAfter) lines.push(`Retry-After: ${raw(render(plan.retryAfter, n, received))}`);
  lines.push('Content-Type: text/plain; charset=utf-8', 'Connection: close');
  if (plan.framing === 'content-length') lines.push(`Content-Length: ${bodyLength}`);
  if (plan.framing === 'chunked') lines.push('Transfer-Encoding: chunked');
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/**
 * A cluster on a raw socket: reads one request per connection, answers with the current plan's bytes
 * (any header byte but CR/LF), the body trickled in chunks, then closes.
 */
class RawCluster {
  answer:
    ((path: string, body: string) => { head: Buffer; body: Buffer; plan: AnswerPlan }) | undefined;
  readonly received: { path: string; body: string }[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {
    server.on('connection', (socket) => this.serve(socket));
  }

  static async start(): Promise<RawCluster> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return new RawCluster(server, `http://127.0.0.1:${port}`);
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      socket.off('data', onData);
      const path = head.split(' ')[1] ?? '/';
      const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      this.received.push({ path, body });
      void this.respond(socket, path, body);
    };
    socket.on('data', onData);
  }

  private async respond(socket: Socket, path: string, requestBody: string): Promise<void> {
    const answer = this.answer?.(path, requestBody);
    if (!answer) {
      socket.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n');
      return;
    }
    const { head, body, plan } = answer;
    socket.write(head);
    const size = Math.ceil(body.length / plan.chunks) || 1;
    for (let at = 0; at < body.length && !socket.destroyed; at += size) {
      const piece = body.subarray(at, at + size);
      socket.write(
        plan.framing === 'chunked'
          ? Buffer.concat([
              Buffer.from(`${piece.length.toString(16)}\r\n`),
              piece,
              Buffer.from('\r\n'),
            ])
          : piece,
      );
      if (plan.chunkDelayMs > 0) await sleep(plan.chunkDelayMs);
    }
    if (!socket.destroyed) {
      if (plan.framing === 'chunked') socket.end('0\r\n\r\n');
      else socket.end();
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

/** Keys too short, or too plain, to tell from ordinary text are not looked for (the package masks from 8). */
const distinctive = (value: string): boolean => value.length >= 8 && !/^(.)\1*$/su.test(value);
const isAscii = (value: string): boolean => /^[\x20-\x7e]*$/.test(value);

interface Secret {
  readonly name: string;
  readonly value: string;
  /** Looked for in any letter case (hex tokens, ASCII keys), or exactly. */
  readonly anyCase: boolean;
}

function secretsOf(n: Notification, paymentToken: string | undefined): Secret[] {
  const secrets: Secret[] = [{ name: 'private key', value: PRIVATE_KEY, anyCase: true }];
  if (n.visitor.token) secrets.push({ name: 'token', value: n.visitor.token, anyCase: true });
  if (paymentToken) secrets.push({ name: 'payment token', value: paymentToken, anyCase: true });
  for (const [name, value] of [
    ['customer key', n.visitor.customerKey],
    ['session key', n.visitor.sessionKey],
  ] as const) {
    if (distinctive(value)) secrets.push({ name, value, anyCase: isAscii(value) });
  }
  return secrets;
}

/**
 * Secrets no other case's text can hold by chance, for the final look at every line (which spans
 * all cases): the private key and the 64-hex-digit HMACs and hashes (tokens, payment tokens,
 * signed-in customer keys). fast-check's UUIDs and strings repeat across cases; these do not.
 */
const highEntropy = (secret: Secret): boolean =>
  secret.value === PRIVATE_KEY || /^[0-9a-fA-F]{64}$/.test(secret.value);

const contains = (text: string, secret: Secret): boolean =>
  secret.anyCase
    ? text.toLowerCase().includes(secret.value.toLowerCase())
    : text.includes(secret.value);

/** Whether the case's own non-secret inputs already hold a secret (then it cannot be told apart). */
function secretInInputs(n: Notification, secrets: readonly Secret[]): boolean {
  const inputs = [n.market ?? '', n.id ?? '', n.productKey, n.variantKey ?? '', n.ticket, 'v-1'];
  const keys = secrets.filter((s) => s.name === 'customer key' || s.name === 'session key');
  // One key inside the other would be found where only the other was echoed.
  const [a, b] = keys;
  if (a && b && (contains(a.value, b) || contains(b.value, a))) return true;
  return secrets.some((secret) => inputs.some((input) => contains(input, secret)));
}

function expectNoSecret(texts: Record<string, string>, secrets: readonly Secret[]): void {
  const leaks: string[] = [];
  for (const [where, text] of Object.entries(texts)) {
    for (const secret of secrets) {
      if (contains(text, secret)) {
        const at = secret.anyCase
          ? text.toLowerCase().indexOf(secret.value.toLowerCase())
          : text.indexOf(secret.value);
        leaks.push(
          `${secret.name} in ${where}: …${JSON.stringify(text.slice(Math.max(0, at - 60), at + secret.value.length + 20))}…`,
        );
      }
    }
  }
  expect(leaks).toEqual([]);
}

const unhandled = trackUnhandledRejections();

const TRANSPORTS: readonly EsalesTransportName[] = ['undici', 'axios'];

/** Module options that keep every case short: two attempts, short timeouts, next to no waiting. */
const QUICK = {
  privateKey: PRIVATE_KEY,
  requestTimeoutMs: 300,
  deliveryTimeoutMs: 2_000,
  maxAttempts: 2,
  retryBaseDelayMs: 1,
  retryMaxDelayMs: 5,
  breakerCooldownMs: 5,
} as const;

interface Harness {
  t: TestApp;
  events: unknown[];
  /** The high-entropy secrets of every case, for the final look at everything logged. */
  secrets: Map<string, Secret>;
  /** Shuts the app down, then checks every line it logged (the shutdown's included). */
  closeAndCheck: () => Promise<void>;
}

/** What a property checks besides settling: the one-safe-line rule, or that no secret shows. */
type Check = 'safe lines' | 'no secret';
const CHECKS: readonly Check[] = ['safe lines', 'no secret'];

function harness(
  transport: EsalesTransportName,
  check: Check,
  clusterUrl: () => string | undefined,
): Harness {
  const h = { events: [] as unknown[], secrets: new Map<string, Secret>() } as Harness;
  beforeAll(async () => {
    const url = clusterUrl();
    h.t = await testApp({
      options: {
        ...QUICK,
        transport,
        ...(url ? { clusterUrl: url } : {}),
        onDelivered: (event: EsalesDeliveryEvent) => void h.events.push({ event }),
        onFailed: (event: EsalesDeliveryEvent, error: unknown) =>
          void h.events.push({ event, error }),
        onDropped: (event: EsalesDeliveryEvent, reason: unknown) =>
          void h.events.push({ event, reason }),
      },
    });
  });
  afterAll(() => h.t.close());
  h.closeAndCheck = async () => {
    // Held-back warnings come out at shutdown: every line is checked once more.
    await h.t.closeApp();
    const { lines } = h.t.logs;
    if (check === 'safe lines') {
      for (const line of lines) expectOneSafeLine(line.message, `log line (${line.level})`);
    } else {
      // Across cases only what cannot collide by chance (see `highEntropy`): anonymous keys come
      // from small pools of fragments that other cases' bodies and ids share; each case checked
      // its own.
      expectNoSecret(Object.fromEntries(lines.map((l, i) => [`log line ${i}`, l.message])), [
        ...h.secrets.values(),
      ]);
    }
  };
  return h;
}

/** Sends `n`, and checks everything the package wrote while it did. */
async function sendAndCheck(
  h: Harness,
  check: Check,
  n: Notification,
  paymentTokenOf: () => string | undefined,
): Promise<void> {
  const { t } = h;
  // Warnings are rate-limited (one per kind per 10 s), so whether this case's warning is logged
  // would depend on the cases before it, and a failure could not be shrunk. Two flushes close every
  // window (the first reports what was held back, the second ends the windows it opened): each case
  // starts with none, and its own first warning of each kind is logged at once.
  const warnings = t.app.get(NotificationPipeline).warnings;
  warnings.flush();
  warnings.flush();
  const logsBefore = t.logs.lines.length;
  const eventsBefore = h.events.length;
  let outcome: { error?: unknown } = {};
  try {
    await within(sendTo(t.service, n), 10_000, 'the send');
  } catch (error) {
    outcome = { error };
  }
  await sleep(0);

  const { error } = outcome;
  if (error !== undefined) {
    // Rejected with the package's own errors only (a timeout of `within` is a hang: a failure).
    expect({
      type: (error as Error)?.constructor?.name,
      isEsales: error instanceof EsalesError,
    }).toEqual({
      type: (error as Error)?.constructor?.name,
      isEsales: true,
    });
  }
  const e = error as (EsalesError & { bodyExcerpt?: unknown; retryAfter?: unknown }) | undefined;
  const lines = t.logs.lines.slice(logsBefore);
  expect(unhandled.reasons).toEqual([]);
  if (check === 'safe lines') {
    if (e) {
      expectOneSafeLine(e.message, `${e.name}.message`);
      if (e.bodyExcerpt !== undefined) expectOneSafeLine(e.bodyExcerpt, `${e.name}.bodyExcerpt`);
      if (e.retryAfter !== undefined) expectOneSafeLine(e.retryAfter, `${e.name}.retryAfter`);
    }
    for (const line of lines) expectOneSafeLine(line.message, `log line (${line.level})`);
    return;
  }

  const paymentToken = paymentTokenOf();
  const secrets = secretsOf(n, paymentToken);
  for (const secret of secrets.filter(highEntropy))
    h.secrets.set(`${secret.name}:${secret.value}`, secret);
  fc.pre(!secretInInputs(n, secrets));
  const texts: Record<string, string> = {
    stats: JSON.stringify(t.service.getStats()),
    events: JSON.stringify(h.events.slice(eventsBefore)),
  };
  // A rate-limited summary repeats the latest held-back line of an earlier case (its error message
  // was checked then, against that case's secrets): it may hold that case's text, not this one's.
  lines.forEach((line, i) => {
    if (!line.message.includes(' more like this in the last ')) {
      texts[`log line ${i} (${line.level})`] = line.message;
    }
  });
  if (e) {
    texts['error.message'] = e.message;
    texts['error.stack'] = String(e.stack);
    texts['JSON.stringify(error)'] = JSON.stringify(e);
    if (typeof e.bodyExcerpt === 'string') texts['error.bodyExcerpt'] = e.bodyExcerpt;
    if (typeof e.retryAfter === 'string') texts['error.retryAfter'] = e.retryAfter;
  }
  expectNoSecret(texts, secrets);
}

const STAND_IN_RUNS = runsOf(300);
const RAW_RUNS = runsOf(150);

const TITLES: Record<Check, string> = {
  'safe lines':
    'settles with success or an EsalesError; every log line and error text is one safe line',
  'no secret':
    'settles with success or an EsalesError; no secret in a log line, an error, a hook event or the stats',
};

describe.each(TRANSPORTS)('a hostile cluster, %s transport', (transport) => {
  describe.each(CHECKS)('%s', (check) => {
    describe('through the stand-in (statuses, headers, bodies up to 1 MiB)', () => {
      const h = harness(transport, check, () => undefined);

      it(
        TITLES[check],
        async () => {
          await fc.assert(
            fc.asyncProperty(notification, answerPlan, async (n, plan) => {
              const requestsBefore = h.t.standIn.requests.length;
              h.t.standIn.respondWith((request) =>
                standInAnswer(plan, n, {
                  rawBody: request.rawBody,
                  paymentToken: request.query['paymentToken'],
                }),
              );
              await sendAndCheck(
                h,
                check,
                n,
                () =>
                  h.t.standIn.requests.slice(requestsBefore).find((r) => r.query['paymentToken'])
                    ?.query['paymentToken'],
              );
            }),
            fuzzParameters(STAND_IN_RUNS),
          );
          await h.closeAndCheck();
        },
        timeoutFor(STAND_IN_RUNS, 40),
      );
    });

    describe('on a raw socket (any header byte, bodies trickled in chunks)', () => {
      let cluster: RawCluster;
      beforeAll(async () => {
        cluster = await RawCluster.start();
      });
      afterAll(() => cluster.close());
      const h = harness(transport, check, () => cluster.url);

      it(
        TITLES[check],
        async () => {
          await fc.assert(
            fc.asyncProperty(notification, answerPlan, async (n, plan) => {
              const receivedBefore = cluster.received.length;
              cluster.answer = (path, rawBody) => {
                const paymentToken =
                  new URLSearchParams(path.split('?')[1] ?? '').get('paymentToken') ?? undefined;
                const body = Buffer.from(bodyOf(plan, n, { rawBody, paymentToken }), 'utf8');
                const head = rawHead(plan, n, { rawBody, paymentToken }, body.length);
                return { head, body, plan };
              };
              await sendAndCheck(h, check, n, () => {
                const path = cluster.received.slice(receivedBefore)[0]?.path ?? '';
                return (
                  new URLSearchParams(path.split('?')[1] ?? '').get('paymentToken') ?? undefined
                );
              });
            }),
            fuzzParameters(RAW_RUNS),
          );
          await h.closeAndCheck();
        },
        timeoutFor(RAW_RUNS, 150),
      );
    });
  });
});
