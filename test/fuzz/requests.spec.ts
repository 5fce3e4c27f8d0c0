import { request as httpRequest, validateHeaderValue, type OutgoingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, Param, Post, Redirect } from '@nestjs/common';
import { parse as parseCookies } from 'cookie';
import fc from 'fast-check';
import { CustomerKeyAuthentication } from '../../lib/auth/customer-key-authentication.js';
import { TrackAddToCart, TrackClick } from '../../lib/click-tracking/tracking.decorators.js';
import type { EsalesKindStats } from '../../lib/delivery/esales-stats.interface.js';
import {
  BROWSER_UA,
  TEST_PRIVATE_KEY,
  testApp,
  type Platform,
  type TestApp,
} from '../support/test-app.js';
import {
  fuzzParameters,
  hostileString,
  runsOf,
  sleep,
  timeoutFor,
  trackUnhandledRejections,
} from './fuzz-support.js';

/*
 * Hostile requests against the tracking decorators, on real Express and Fastify apps: every tracked
 * route answers exactly as the same route without tracking (status, Location, body; the only
 * difference allowed is the Apptus cookies a visitor without them is given), nothing is logged at
 * error level, every notification that reaches the stand-in passes Elevate's rules (204), and the
 * delivery counters add up at rest. Requests go out through node:http with raw paths and headers,
 * so bytes a browser would never send get through (only what Node itself refuses to send is left
 * out).
 */

/** Route prefixes of the tracked and the untracked twin: the same length, never generated. */
const TRACKED = 'zz-tracked-7f3a';
const PLAIN = 'zz-plainly-7f3a';

const safeEncode = (value: unknown): string => {
  try {
    return encodeURIComponent(String(value));
  } catch {
    // A lone surrogate: encodeURIComponent throws, and the handler must not (a 500 logs an error).
    return 'not-well-formed';
  }
};

/** What the handlers answer: the same for both twins, and showing any change made to the body. */
const described = (body: unknown): unknown => {
  try {
    return { added: typeof body, body: JSON.stringify(body) ?? null };
  } catch {
    return { added: typeof body, body: 'not serialisable' };
  }
};

@Controller()
class FuzzShopController {
  @Get(`${TRACKED}/:productKey/redirect`)
  @Redirect()
  @TrackClick({
    ticket: { query: 'ticket' },
    productKey: 'productKey',
    variantKey: { query: 'variant' },
  })
  trackedRedirect(@Param('productKey') productKey: unknown) {
    return { url: `/p/${safeEncode(productKey)}` };
  }

  @Get(`${PLAIN}/:productKey/redirect`)
  @Redirect()
  plainRedirect(@Param('productKey') productKey: unknown) {
    return { url: `/p/${safeEncode(productKey)}` };
  }

  @Post(`${TRACKED}/cart/items`)
  @TrackAddToCart({
    ticket: { body: 'ticket' },
    productKey: { body: 'productKey' },
    variantKey: { body: 'variantKey' },
  })
  trackedAdd(@Body() body: unknown) {
    return described(body);
  }

  @Post(`${PLAIN}/cart/items`)
  plainAdd(@Body() body: unknown) {
    return described(body);
  }
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/** A string's UTF-8 bytes as a latin1 string: how a header or path carries non-ASCII text. */
const utf8Bytes = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

/** Printable ASCII but the space: what goes raw into a path or query. */
const asciiByte = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
/** Bytes 0x80 to 0xFF, which Node sends raw in a path (its parser then answers 400). */
const highByte = fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c));

/** Percent-encoding, right and wrong. */
const percentJunk = fc.constantFrom(
  '%00',
  '%0A',
  '%0d%0a',
  '%1B',
  '%7F',
  '%C2%85',
  '%E2%80%AE',
  '%E2%80%A8',
  '%EF%BB%BF',
  '%ED%A0%80',
  '%F0%9F%98%80',
  '%C0%AF',
  '%80',
  '%FF',
  '%E0%A4',
  '%',
  '%Z',
  '%ZZ',
  '%%',
  '%25',
  '%2F',
  '%2f',
  '%5C',
  '%3F',
  '%23',
  '..',
  '%2e%2e',
  '__proto__',
  'constructor',
);

/** Text for a path segment or a query value: percent-encoded unicode, raw bytes, junk. */
const urlText = (excluded: string, maxLength = 8): fc.Arbitrary<string> =>
  fc
    .array(
      fc.oneof(
        { weight: 3, arbitrary: hostileString(4).map(safeEncode) },
        { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }).map(safeEncode) },
        { weight: 2, arbitrary: fc.string({ unit: asciiByte, maxLength: 6 }) },
        { weight: 2, arbitrary: percentJunk },
        { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/) },
      ),
      { maxLength },
    )
    .map((parts) =>
      parts
        .join('')
        .split('')
        .filter((c) => !excluded.includes(c))
        .join(''),
    );

/** Plain text of letters, digits and the unreserved punctuation. */
const plainText = fc.stringMatching(/^[A-Za-z0-9._~-]{1,16}$/);

/**
 * A product key as a path segment: mostly plausible (plain, or percent-encoded unicode), else
 * hostile: encoded control and format characters, broken percent-encoding, raw bytes (which Node's
 * parser answers 400), huge. Never empty (the route needs one), never a raw `/`, `?` or `#`.
 */
const pathSegment = fc
  .oneof(
    { weight: 4, arbitrary: plainText },
    { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 12 }).map(safeEncode) },
    { weight: 3, arbitrary: urlText('/?#') },
    { weight: 1, arbitrary: fc.constantFrom('shirt', 'p-1', 'product%20key', 'a.b', '~', '%2F') },
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 20_000 }).map((n) => 'k'.repeat(n)) },
    { weight: 1, arbitrary: fc.string({ unit: highByte, minLength: 1, maxLength: 4 }) },
  )
  .map((segment) => (segment === '' || segment === '.' || segment === '..' ? 'x' : segment));

const HOSTILE_QUERY_KEYS = [
  'ticket[]',
  'ticket[0]',
  'ticket[a]',
  'ticket[a][b]',
  'variant[]',
  'variant[__proto__]',
  '__proto__',
  '__proto__[ticket]',
  '__proto__[variant]',
  'constructor',
  'constructor[prototype][ticket]',
  'prototype',
  'toString',
  'hasOwnProperty',
  'a',
  'a[b]',
  'a[b][c]',
  'a.b',
  '',
  'TICKET',
  'ticket%00',
  't%69cket',
] as const;

const queryKey = fc.oneof(
  { weight: 4, arbitrary: fc.constant('ticket') },
  { weight: 3, arbitrary: fc.constant('variant') },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_QUERY_KEYS) },
  { weight: 1, arbitrary: urlText('#&=', 4) },
);

/** A ticket as Elevate hands them out: base64-ish, a few dozen characters. */
const ticketLike = fc.stringMatching(/^[A-Za-z0-9+/]{4,60}={0,2}$/).map(safeEncode);

const queryValue = fc.oneof(
  { weight: 4, arbitrary: ticketLike },
  { weight: 2, arbitrary: plainText },
  { weight: 3, arbitrary: urlText('#&') },
  { weight: 1, arbitrary: fc.constantFrom('', 'OzE7Mjs', 'OzE7MjQ7MTc7', 'grey', '1', 'true') },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'v'.repeat(n)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3000 }).map(safeEncode) },
);

const queryPair = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(queryKey, queryValue).map(([k, v]) => `${k}=${v}`) },
  { weight: 1, arbitrary: queryKey },
  { weight: 1, arbitrary: fc.constantFrom('ticket=a&ticket=b', 'variant=a&variant=', '&&', '=') },
);

const queryString = fc.array(queryPair, { maxLength: 5 }).map((pairs) => pairs.join('&'));

const UUID = fc.uuid();
const SIGNED_IN = fc
  .tuple(
    fc.string({ minLength: 1, maxLength: 20 }),
    fc.constantFrom(TEST_PRIVATE_KEY, 'another-private-key'),
  )
  .map(([visitor, key]) => new CustomerKeyAuthentication(key, visitor));

/** A hostile cookie value, as a hand-made client would put it in the header. */
const hostileCookieValue = fc.oneof(
  { weight: 1, arbitrary: fc.uuid().map((u) => u.toUpperCase()) },
  { weight: 1, arbitrary: fc.constantFrom('', '""', '"abc"', '=', '==', 'a=b', ' x ', '%', '%ZZ') },
  { weight: 2, arbitrary: urlText(';, ') },
  { weight: 2, arbitrary: hostileString(6).map(safeEncode) },
  { weight: 1, arbitrary: hostileString(6).map(utf8Bytes) },
  { weight: 1, arbitrary: fc.integer({ min: 300, max: 9_000 }).map((n) => 'c'.repeat(n)) },
);
const cookieValue = fc.oneof(
  { weight: 3, arbitrary: UUID },
  { weight: 2, arbitrary: hostileCookieValue },
);

/** A signed-in visitor's cookies: token valid, upper-cased, another key's, forged or missing. */
const signedInCookies = fc
  .tuple(SIGNED_IN, fc.constantFrom('as-is', 'as-is', 'upper', 'wrong', 'none'))
  .map(([auth, tokenForm]) => {
    const token =
      tokenForm === 'upper'
        ? auth.token.toUpperCase()
        : tokenForm === 'wrong'
          ? 'f'.repeat(64)
          : auth.token;
    return [
      `apptus.customerKey=${auth.customerKey}`,
      ...(tokenForm === 'none' ? [] : [`apptus.token=${token}`]),
    ];
  });

const oddCookie = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'apptus.sessionKey',
      'apptus.customerKey=',
      '=apptus.sessionKey',
      'apptus.sessionKey =x',
      ' apptus.customerKey= y',
      'APPTUS.SESSIONKEY=x',
      'apptus%2EsessionKey=x',
      '__proto__=x',
      'constructor=x',
      'hasOwnProperty=x',
      ';;',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.tuple(urlText('=;, ', 3), cookieValue).map(([n, v]) => `${n}=${v}`) },
  { weight: 1, arbitrary: cookieValue.map((v) => `apptus.token=${v}`) },
);

/** The pairs of a Cookie header: a visitor's Apptus cookies (or some of them), duplicates, junk. */
const cookiePairs = fc
  .tuple(
    fc.option(cookieValue, { nil: undefined, freq: 4 }),
    fc.oneof(
      { weight: 3, arbitrary: cookieValue.map((v) => [`apptus.customerKey=${v}`]) },
      { weight: 2, arbitrary: signedInCookies },
      { weight: 1, arbitrary: fc.constant([]) },
    ),
    fc.array(oddCookie, { maxLength: 3 }),
    fc.array(
      fc
        .constantFrom('apptus.sessionKey', 'apptus.customerKey')
        .chain((name) => cookieValue.map((v) => `${name}=${v}`)),
      { maxLength: 2 },
    ),
    fc.boolean(),
  )
  .map(([session, customer, odd, duplicates, shuffle]) => {
    const pairs = [
      ...(session === undefined ? [] : [`apptus.sessionKey=${session}`]),
      ...customer,
      ...odd,
      ...duplicates,
    ];
    return shuffle ? pairs.reverse() : pairs;
  });

/** The Cookie header: absent, one line, or several lines (Node joins them with `; `). */
const cookieHeader = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(cookiePairs, fc.constantFrom('; ', '; ', ';', ', ', ' ; '), fc.boolean())
      .map(([pairs, separator, split]) =>
        split && pairs.length > 0 ? pairs : [pairs.join(separator)],
      ),
  },
);

const userAgent = fc.oneof(
  { weight: 10, arbitrary: fc.constant(BROWSER_UA) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
      'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
      'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
      'curl/8.5.0',
      'node',
      'python-requests/2.32.3',
      'HeadlessChrome',
      '',
      ' ',
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: hostileString(8).map((s) => `${BROWSER_UA} ${utf8Bytes(s)}`) },
  { weight: 1, arbitrary: hostileString(8).map(utf8Bytes) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map(utf8Bytes) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 600, max: 12_000 })
      .map((n) => BROWSER_UA.repeat(Math.ceil(n / BROWSER_UA.length))),
  },
);

const RAW_JSON = Symbol('raw JSON object');

/** A JSON value with the keys the route reads, prototype-polluting keys and hostile strings. */
const hostileJsonValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 2 }),
    hostileString(6),
    fc.constantFrom('', 'p', 'v', 'OzE7MTc7', null, 0, -0, 1e308, true, []),
    fc.integer({ min: 500, max: 6000 }).map((n) => 'x'.repeat(n)),
    tie('object'),
    fc.array(tie('value'), { maxLength: 3 }),
  ),
  object: fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(
            'ticket',
            'productKey',
            'variantKey',
            '__proto__',
            'constructor',
            'prototype',
            'toString',
            'market',
            'customerKey',
          ),
          hostileString(3),
        ),
        tie('value'),
      ),
      { maxLength: 6 },
    )
    // Written out as text, so a `__proto__` key is an own key and duplicate keys stay duplicates.
    .map((entries) => ({ [RAW_JSON]: entries })),
})).value;

/** JSON text of a generated value: objects from `hostileJsonValue` written key by key. */
function jsonText(value: unknown): string {
  if (typeof value === 'object' && value !== null && RAW_JSON in value) {
    const entries = (value as { [RAW_JSON]: [string, unknown][] })[RAW_JSON];
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`).join(',')}}`;
  }
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  return JSON.stringify(value) ?? 'null';
}

interface CartBody {
  readonly contentType: string | undefined;
  readonly body: string;
}

/** A cart item as a shop's front end posts it, with a hostile value or key now and then. */
const cartItem = fc
  .record(
    {
      ticket: fc.oneof(ticketLike.map(decodeURIComponent), fc.constant(''), hostileJsonValue),
      productKey: fc.oneof(plainText, fc.string({ maxLength: 20 }), hostileJsonValue),
      variantKey: fc.oneof(plainText, fc.constant(null), hostileJsonValue),
      quantity: fc.integer(),
    },
    { requiredKeys: [] },
  )
  .chain((item) =>
    fc
      .array(
        fc.tuple(
          fc.constantFrom('__proto__', 'constructor', 'market', 'customerKey', 'token'),
          hostileJsonValue,
        ),
        { maxLength: 2 },
      )
      .map((extra) => ({ [RAW_JSON]: [...Object.entries(item), ...extra] })),
  );

const cartBody: fc.Arbitrary<CartBody> = fc.oneof(
  {
    weight: 8,
    arbitrary: cartItem.map((item) => ({ contentType: 'application/json', body: jsonText(item) })),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        hostileJsonValue,
        fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'APPLICATION/JSON',
          'application/json;charset=UTF-8',
          'application/vnd.api+json',
        ),
      )
      .map(([value, contentType]) => ({ contentType, body: jsonText(value) })),
  },
  {
    weight: 2,
    arbitrary: fc.json().map((body) => ({ contentType: 'application/json', body })),
  },
  {
    weight: 1,
    // Malformed or truncated JSON.
    arbitrary: fc.tuple(hostileJsonValue, fc.nat()).map(([value, cut]) => {
      const text = jsonText(value);
      return { contentType: 'application/json', body: text.slice(0, cut % (text.length + 1)) };
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.oneof(queryString, hostileString(8).map(utf8Bytes)),
        fc.constantFrom(
          'application/x-www-form-urlencoded',
          'text/plain',
          'application/json; charset=latin1',
          'multipart/form-data; boundary=x',
          undefined,
          '',
          'application/octet-stream',
        ),
      )
      .map(([body, contentType]) => ({ contentType, body })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 50_000, max: 300_000 }).map((n) => ({
      contentType: 'application/json',
      body: `{"productKey":"${'p'.repeat(n)}","ticket":"OzE7"}`,
    })),
  },
);

/** One hostile request, sent to both twins. */
interface HostileRequest {
  readonly method: 'GET' | 'HEAD' | 'POST';
  /** The path after the route prefix, query string included. */
  readonly path: string;
  readonly cookie: string[] | undefined;
  readonly userAgent: string | undefined;
  readonly body?: CartBody;
}

const clickRequest: fc.Arbitrary<HostileRequest> = fc
  .record({
    method: fc.constantFrom<'GET' | 'HEAD'>('GET', 'GET', 'GET', 'GET', 'HEAD'),
    segment: pathSegment,
    query: fc.option(queryString, { nil: undefined }),
    cookie: cookieHeader,
    userAgent,
  })
  .map(({ method, segment, query, cookie, userAgent }) => ({
    method,
    path: `/${segment}/redirect${query === undefined ? '' : `?${query}`}`,
    cookie,
    userAgent,
  }));

const cartRequest: fc.Arbitrary<HostileRequest> = fc
  .record({
    query: fc.option(queryString, { nil: undefined }),
    cookie: cookieHeader,
    userAgent,
    body: cartBody,
  })
  .map(({ query, cookie, userAgent, body }) => ({
    method: 'POST' as const,
    path: `/cart/items${query === undefined ? '' : `?${query}`}`,
    cookie,
    userAgent,
    body,
  }));

// ---------------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------------

interface Answer {
  readonly status: number | undefined;
  readonly location: string | undefined;
  readonly setCookies: readonly string[];
  readonly body: string;
  /** The client's error code, when no answer came (the server hung up). */
  readonly error?: string;
}

/** The headers of a request, or undefined when Node itself would refuse one of them. */
function headersOf(request: HostileRequest): OutgoingHttpHeaders | undefined {
  const headers: OutgoingHttpHeaders = {};
  if (request.userAgent !== undefined) headers['user-agent'] = request.userAgent;
  if (request.cookie !== undefined) headers['cookie'] = request.cookie;
  if (request.body?.contentType !== undefined) headers['content-type'] = request.body.contentType;
  for (const [name, value] of Object.entries(headers)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      try {
        validateHeaderValue(name, String(one));
      } catch {
        return undefined;
      }
    }
  }
  return headers;
}

function send(base: URL, prefix: string, request: HostileRequest, headers: OutgoingHttpHeaders) {
  return new Promise<Answer>((resolve) => {
    const body = request.body === undefined ? undefined : Buffer.from(request.body.body, 'utf8');
    const outgoing = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: request.method,
        path: `/${prefix}${request.path}`,
        // A fresh connection each: a request the server hangs up on never affects the next one.
        agent: false,
        headers: { ...headers, ...(body ? { 'content-length': body.length } : {}) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error: NodeJS.ErrnoException) =>
          resolve({
            status: response.statusCode,
            location: undefined,
            setCookies: [],
            body: '',
            error: error.code ?? error.message,
          }),
        );
        response.on('end', () => {
          const location = response.headers.location;
          resolve({
            status: response.statusCode,
            location,
            setCookies: response.headers['set-cookie'] ?? [],
            body: Buffer.concat(chunks).toString('latin1'),
          });
        });
      },
    );
    outgoing.on('error', (error: NodeJS.ErrnoException) =>
      resolve({
        status: undefined,
        location: undefined,
        setCookies: [],
        body: '',
        error: error.code ?? error.message,
      }),
    );
    outgoing.end(body);
  });
}

/** The untracked twin's answer as the tracked one would show it (route prefix swapped back). */
const asTracked = (text: string | undefined): string | undefined =>
  text?.split(PLAIN).join(TRACKED);

const APPTUS_SET_COOKIE = /^(apptus\.sessionKey|apptus\.customerKey)=([0-9a-f-]{36});/;

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const unhandled = trackUnhandledRejections();

/** Default cases per property: each sends two requests and flushes, a few ms on this machine. */
const RUNS = runsOf(500);

describe.each<Platform>(['express', 'fastify'])('hostile requests on %s', (platform) => {
  let t: TestApp;
  let base: URL;

  beforeAll(async () => {
    t = await testApp({
      platform,
      controllers: [FuzzShopController],
      options: { requestTimeoutMs: 1_000, maxAttempts: 2 },
    });
    base = new URL(t.url);
  });
  afterAll(async () => {
    await t.closeApp();
    // What the shutdown logged (held-back warnings included) is checked too.
    expect(t.logs.lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
    await t.close();
  });

  /** The counters that must add up at rest, for the totals and every kind. */
  const expectStatsAtRest = () => {
    const stats = t.service.getStats();
    expect({ queued: stats.queued, retrying: stats.retrying, inFlight: stats.inFlight }).toEqual({
      queued: 0,
      retrying: 0,
      inFlight: 0,
    });
    const settled = (k: EsalesKindStats) => k.sent + k.rejected + k.dropped + k.expired + k.failed;
    expect({ kind: 'total', enqueued: stats.enqueued }).toEqual({
      kind: 'total',
      enqueued: settled(stats),
    });
    for (const [kind, counters] of Object.entries(stats.byKind)) {
      expect({ kind, enqueued: counters.enqueued }).toEqual({ kind, enqueued: settled(counters) });
    }
  };

  const check = async (request: HostileRequest): Promise<void> => {
    const headers = headersOf(request);
    fc.pre(headers !== undefined);
    const logsBefore = t.logs.lines.length;
    const requestsBefore = t.standIn.requests.length;

    const tracked = await send(base, TRACKED, request, headers);
    const plain = await send(base, PLAIN, request, headers);

    // 1. The visitor gets what the untracked route answers.
    expect({
      status: tracked.status,
      location: tracked.location,
      body: tracked.body,
      error: tracked.error,
    }).toEqual({
      status: plain.status,
      location: asTracked(plain.location),
      body: asTracked(plain.body),
      error: plain.error,
    });
    expect(plain.setCookies).toEqual([]);
    // Only fresh Apptus cookies the visitor lacked, and only on a successful answer.
    const had = parseCookies(request.cookie?.join('; ') ?? '');
    for (const line of tracked.setCookies) {
      const match = APPTUS_SET_COOKIE.exec(line);
      expect({ line, apptusCookie: match !== null }).toEqual({ line, apptusCookie: true });
      expect({ line, visitorHadIt: Boolean(had[match?.[1] ?? '']) }).toEqual({
        line,
        visitorHadIt: false,
      });
      expect({ line, status: (tracked.status ?? 0) < 400 }).toEqual({ line, status: true });
    }
    expect(new Set(tracked.setCookies.map((l) => l.split('=')[0])).size).toBe(
      tracked.setCookies.length,
    );

    // 2. Every notification queued by now is settled; whatever reached Elevate passed its rules.
    await sleep(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await t.service.flush(5_000)).toBe(true);
    const received = t.standIn.requests.slice(requestsBefore);
    expect(
      received
        .filter((r) => r.status !== 204)
        .map((r) => ({ kind: r.kind, status: r.status, body: r.rawBody.slice(0, 300) })),
    ).toEqual([]);
    expectStatsAtRest();

    // 3. Nothing threw: no error-level line.
    expect(
      t.logs.lines.slice(logsBefore).filter((l) => l.level === 'error' || l.level === 'fatal'),
    ).toEqual([]);
    expect(unhandled.reasons).toEqual([]);
  };

  it(
    '@TrackClick redirect: answers as its untracked twin, sends only what Elevate takes',
    async () => {
      await fc.assert(fc.asyncProperty(clickRequest, check), fuzzParameters(RUNS));
    },
    timeoutFor(RUNS, 60),
  );

  it(
    '@TrackAddToCart POST: answers as its untracked twin, sends only what Elevate takes',
    async () => {
      await fc.assert(fc.asyncProperty(cartRequest, check), fuzzParameters(RUNS));
    },
    timeoutFor(RUNS, 60),
  );
});
