import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { EsalesBeaconMiddleware } from '../../lib/beacon/esales-beacon.middleware.js';
import type { EsalesModuleOptions } from '../../lib/config/esales-options.interface.js';
import type { EsalesSkipReason } from '../../lib/delivery/esales-stats.interface.js';
import type { StandInRequest } from '../../lib/testing/elevate-stand-in.js';
import { BROWSER_UA, testApp, type Platform, type TestApp } from '../support/test-app.js';

/*
 * The beacon endpoint (`beacon` option): what a page may post, what the server adds, and what it
 * refuses, on Express and Fastify, against a real stand-in.
 */

const PATH = '/esales/notify';
const SESSION = 'b106299c-eac0-4f6f-96d2-93e57c255784';
const CUSTOMER = 'd9528030-509c-4e0f-b585-7168f1e9feca';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const VISITOR_COOKIES = `apptus.sessionKey=${SESSION}; apptus.customerKey=${CUSTOMER}`;
const GOOGLEBOT_UA = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const OTHER_ORIGIN = 'https://partner.example.com';

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  readonly setCookies: string[];
}

/**
 * A post as a page's `sendBeacon(url, JSON.stringify(body))` makes it, from the app's own origin;
 * a header given as '' is not sent.
 */
async function post(
  t: TestApp,
  body: string | Uint8Array | undefined,
  headers: Record<string, string> = {},
  method = 'POST',
): Promise<Answer> {
  const response = await fetch(t.url + PATH, {
    method,
    headers: Object.fromEntries(
      Object.entries({
        'user-agent': BROWSER_UA,
        origin: t.url,
        'sec-fetch-site': 'same-origin',
        'content-type': 'text/plain;charset=UTF-8',
        cookie: VISITOR_COOKIES,
        ...headers,
      }).filter(([, value]) => value !== ''),
    ),
    ...(body === undefined ? {} : { body }),
  });
  return {
    status: response.status,
    text: await response.text(),
    headers: response.headers,
    setCookies: response.headers.getSetCookie(),
  };
}

const json = (value: unknown): string => JSON.stringify(value);

/** What a raw socket got back: the status line's code, the head, and how long it took. */
interface RawAnswer {
  readonly status: number | undefined;
  readonly head: string;
  readonly ms: number;
}

/**
 * Writes `head` and then `body` on a raw socket to the app and waits for the answer (or for the
 * server to close the connection, or `waitMs`); `abortAfterMs` destroys the socket instead.
 */
function rawRequest(
  t: TestApp,
  head: string,
  body: string,
  options: { waitMs?: number; abortAfterMs?: number } = {},
): Promise<RawAnswer> {
  const { port } = new URL(t.url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
      resolve({
        status: match ? Number(match[1]) : undefined,
        head: received.split('\r\n\r\n')[0] ?? '',
        ms: Date.now() - started,
      });
    };
    const timer = setTimeout(done, options.abortAfterMs ?? options.waitMs ?? 5_000);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) done();
    });
    socket.on('close', done);
    socket.on('error', done);
    socket.write(head + body);
  });
}

/** A request head as a browser's same-origin `sendBeacon` post sends it. */
const rawHead = (t: TestApp, extra: string): string =>
  [
    `POST ${PATH} HTTP/1.1`,
    `Host: ${new URL(t.url).host}`,
    `User-Agent: ${BROWSER_UA}`,
    `Origin: ${t.url}`,
    'Sec-Fetch-Site: same-origin',
    'Content-Type: text/plain;charset=UTF-8',
    `Cookie: ${VISITOR_COOKIES}`,
    extra,
    '',
    '',
  ].join('\r\n');

/** The value of a Set-Cookie line for `name`. */
const cookieValue = (setCookies: string[], name: string): string | undefined =>
  setCookies
    .find((line) => line.startsWith(`${name}=`))
    ?.slice(name.length + 1)
    .split(';')[0];

const startApp = (
  platform: Platform,
  beacon: EsalesModuleOptions['beacon'] | null = { path: PATH },
  options: Partial<EsalesModuleOptions> = {},
  extra: { async?: boolean; trustProxy?: boolean } = {},
): Promise<TestApp> =>
  testApp({
    platform,
    options: { ...(beacon ? { beacon } : {}), ...options },
    ...extra,
  });

const ACCEPTED = [
  ['click', { ticket: 'OzE7MTQ1OTI3Mjk1ODY0MjsxOzE' }],
  ['adding-to-cart', { ticket: 'OzE7MTQ1OTI3Mjk1ODY0MjsxOzI' }],
  ['non-esales-click', { productKey: 'shirt_79709', variantKey: 'shirt_79709_M' }],
  ['non-esales-adding-to-cart', { productKey: 'shirt_79709', variantKey: null }],
] as const;

describe.each<Platform>(['express', 'fastify'])('the beacon endpoint on %s', (platform) => {
  let t: TestApp;

  /** What the stand-in received, once the app's queue is idle. */
  const delivered = async (): Promise<StandInRequest[]> => {
    await t.service.flush(5_000);
    return t.standIn.requests;
  };
  const skipped = (reason: EsalesSkipReason): number => t.service.getStats().skippedBy[reason];

  beforeAll(async () => {
    // Without the rate limit: these tests post more than 20 times within 10 s (its own test is below).
    t = await startApp(
      platform,
      { path: PATH, rateLimit: false },
      { consent: (r) => r.headers['dnt'] !== '1' },
    );
  });
  afterAll(() => t.close());
  beforeEach(() => t.standIn.clear());

  it.each(ACCEPTED)(
    'queues one %s for the visitor of the cookies, and answers 204',
    async (kind, fields) => {
      const before = t.service.getStats().enqueued;
      const answer = await post(t, json({ kind, ...fields }));
      expect(answer.status).toBe(204);
      expect(answer.text).toBe('');
      expect(answer.setCookies).toEqual([]);
      const requests = await delivered();
      expect(requests).toHaveLength(1);
      expect(requests[0]?.kind).toBe(kind);
      expect(requests[0]?.body).toEqual({
        market: 'UK',
        customerKey: CUSTOMER,
        sessionKey: SESSION,
        id: expect.stringMatching(UUID),
        ...fields,
      });
      expect(t.service.getStats().enqueued).toBe(before + 1);
    },
  );

  it('takes application/json as well (parsed by the app first on Express)', async () => {
    const answer = await post(t, json({ kind: 'non-esales-click', productKey: 'p1' }), {
      'content-type': 'application/json',
    });
    expect(answer.status).toBe(204);
    const requests = await delivered();
    expect(requests).toHaveLength(1);
    expect(requests[0]?.body).toMatchObject({ customerKey: CUSTOMER, productKey: 'p1' });
  });

  it('refuses visitor keys, a token or a market from the body, and queues nothing', async () => {
    const before = skipped('invalid');
    for (const extra of [
      { customerKey: 'someone-else' },
      { sessionKey: SESSION },
      { token: 'a'.repeat(64) },
      { market: 'Sweden' },
    ]) {
      const answer = await post(t, json({ kind: 'click', ticket: 't1', ...extra }));
      expect(answer.status).toBe(400);
      expect(answer.text).toMatch(/must not be sent: the server adds the visitor and the market/);
      expect(answer.text).not.toContain('someone-else');
    }
    expect(await delivered()).toHaveLength(0);
    expect(skipped('invalid')).toBe(before + 4);
  });

  it('gives a visitor without cookies fresh Apptus cookies, and sends with them', async () => {
    const answer = await post(t, json({ kind: 'non-esales-click', productKey: 'p1' }), {
      cookie: '',
    });
    expect(answer.status).toBe(204);
    const session = cookieValue(answer.setCookies, 'apptus.sessionKey');
    const customer = cookieValue(answer.setCookies, 'apptus.customerKey');
    expect(session).toMatch(UUID);
    expect(customer).toMatch(UUID);
    for (const line of answer.setCookies) {
      expect(line).toContain('Path=/');
      expect(line).toContain('SameSite=Lax');
      expect(line).not.toMatch(/HttpOnly/i);
    }
    const [request] = await delivered();
    expect(request?.body).toMatchObject({ customerKey: customer, sessionKey: session });
  });

  const OVERSIZE = json({ kind: 'click', ticket: 'x'.repeat(5_000) });
  it.each<[string, string | Uint8Array, Record<string, string>, number]>([
    ['an oversize text body', OVERSIZE, {}, 413],
    ['an oversize JSON body', OVERSIZE, { 'content-type': 'application/json' }, 413],
    [
      'a form body',
      'kind=click&ticket=t1',
      { 'content-type': 'application/x-www-form-urlencoded' },
      415,
    ],
    [
      // Bytes: fetch gives a string body a text/plain type of its own.
      'no content type',
      new TextEncoder().encode(json({ kind: 'click', ticket: 't1' })),
      { 'content-type': '' },
      415,
    ],
    [
      'a latin-1 charset',
      json({ kind: 'click', ticket: 't1' }),
      { 'content-type': 'text/plain; charset=iso-8859-1' },
      415,
    ],
    ['invalid JSON', '{"kind":"click",', {}, 400],
    [
      'invalid JSON as application/json',
      '{"kind":"click",',
      { 'content-type': 'application/json' },
      400,
    ],
    ['an empty body', '', {}, 400],
    ['a body that is not UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), {}, 400],
    ['an array', json([{ kind: 'click', ticket: 't1' }]), {}, 400],
    ['a string', json('click'), {}, 400],
    ['a __proto__ key', '{"kind":"click","ticket":"t1","__proto__":{"polluted":true}}', {}, 400],
    [
      'a __proto__ key as application/json',
      '{"kind":"click","ticket":"t1","__proto__":{"x":1}}',
      { 'content-type': 'application/json' },
      400,
    ],
    ['a constructor key', json({ kind: 'click', ticket: 't1', constructor: 'x' }), {}, 400],
    ['an unknown kind', json({ kind: 'payment', ticket: 't1' }), {}, 400],
    ['a nested ticket', json({ kind: 'click', ticket: { $gt: '' } }), {}, 400],
    ['a click without a ticket', json({ kind: 'click', productKey: 'p1' }), {}, 400],
    ['an unknown field', json({ kind: 'non-esales-click', productKey: 'p1', extra: 1 }), {}, 400],
    ['an empty ticket', json({ kind: 'click', ticket: '' }), {}, 400],
    ['a control character', json({ kind: 'non-esales-click', productKey: 'p\u00011' }), {}, 400],
    ['no product or variant key', json({ kind: 'non-esales-click' }), {}, 400],
  ])('answers %s with a 4xx and queues nothing', async (_, body, headers, status) => {
    const answer = await post(t, body, headers);
    expect(answer.status).toBe(status);
    expect(answer.status).toBeLessThan(500);
    if (answer.headers.get('content-type')?.startsWith('text/plain')) {
      expect(answer.text.length).toBeLessThan(120);
      expect(answer.text).not.toContain('polluted');
      expect(answer.text).not.toContain('$gt');
    }
    expect(await delivered()).toHaveLength(0);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it.each(['GET', 'PUT', 'DELETE'])('answers %s with 405 and Allow: POST', async (method) => {
    const answer = await post(t, method === 'GET' ? undefined : '{}', {}, method);
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('POST');
  });

  it.each<[string, Record<string, string>]>([
    ['a cross-site Sec-Fetch-Site', { 'sec-fetch-site': 'cross-site', origin: OTHER_ORIGIN }],
    ['a same-site Sec-Fetch-Site', { 'sec-fetch-site': 'same-site', origin: OTHER_ORIGIN }],
    ['another Origin (no Sec-Fetch-Site)', { 'sec-fetch-site': '', origin: OTHER_ORIGIN }],
    ['Origin: null', { 'sec-fetch-site': '', origin: 'null' }],
    ['neither Origin nor Sec-Fetch-Site', { 'sec-fetch-site': '', origin: '' }],
  ])('answers a post with %s 403, and queues nothing', async (_, headers) => {
    const answer = await post(t, json({ kind: 'click', ticket: 't1' }), headers);
    expect(answer.status).toBe(403);
    expect(await delivered()).toHaveLength(0);
  });

  it('takes a post with only a matching Origin (an older browser)', async () => {
    const answer = await post(t, json({ kind: 'click', ticket: 't1' }), { 'sec-fetch-site': '' });
    expect(answer.status).toBe(204);
    expect(await delivered()).toHaveLength(1);
  });

  it('counts a bot and answers 204 without queuing or setting cookies', async () => {
    const before = skipped('bot');
    const answer = await post(t, json({ kind: 'click', ticket: 't1' }), {
      'user-agent': GOOGLEBOT_UA,
      cookie: '',
    });
    expect(answer.status).toBe(204);
    expect(answer.setCookies).toEqual([]);
    expect(await delivered()).toHaveLength(0);
    expect(skipped('bot')).toBe(before + 1);
  });

  it('honours consent: no cookie, nothing queued, counted', async () => {
    const before = skipped('noConsent');
    const answer = await post(t, json({ kind: 'click', ticket: 't1' }), { dnt: '1', cookie: '' });
    expect(answer.status).toBe(204);
    expect(answer.setCookies).toEqual([]);
    expect(await delivered()).toHaveLength(0);
    expect(skipped('noConsent')).toBe(before + 1);
  });

  it('answers a chunked body (no Content-Length) past maxBodyBytes 413', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(1_024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(t.url + PATH, {
      method: 'POST',
      headers: {
        'user-agent': BROWSER_UA,
        origin: t.url,
        'sec-fetch-site': 'same-origin',
        'content-type': 'text/plain;charset=UTF-8',
        cookie: VISITOR_COOKIES,
      },
      body: stream,
      duplex: 'half',
    });
    expect(response.status).toBe(413);
    await response.text();
    expect(await delivered()).toHaveLength(0);
  });

  describe('with a short read deadline', () => {
    const original = EsalesBeaconMiddleware.readTimeoutMs;
    beforeEach(() => {
      EsalesBeaconMiddleware.readTimeoutMs = 300;
    });
    afterEach(() => {
      EsalesBeaconMiddleware.readTimeoutMs = original;
    });

    it('answers a body that stops coming 408 with Connection: close, within the deadline', async () => {
      const answer = await rawRequest(t, rawHead(t, 'Content-Length: 100'), '{"k', {
        waitMs: 3_000,
      });
      expect(answer.status).toBe(408);
      expect(answer.head.toLowerCase()).toContain('connection: close');
      expect(answer.ms).toBeGreaterThanOrEqual(250);
      expect(answer.ms).toBeLessThan(2_000);
      expect(await delivered()).toHaveLength(0);
    });

    it('survives a client that aborts mid-body, and takes the next post', async () => {
      const aborted = await rawRequest(t, rawHead(t, 'Content-Length: 100'), '{"k', {
        abortAfterMs: 50,
      });
      expect(aborted.status).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await post(t, json({ kind: 'click', ticket: 't1' }))).status).toBe(204);
      expect(await delivered()).toHaveLength(1);
    });
  });

  it.each<[string, Record<string, string>, string]>([
    ['405', {}, 'GET'],
    ['403', { 'sec-fetch-site': 'cross-site', origin: OTHER_ORIGIN }, 'POST'],
    ['415', { 'content-type': 'application/x-www-form-urlencoded' }, 'POST'],
  ])('answers %s with Connection: close (the body is never read)', async (_, headers, method) => {
    const answer = await post(t, method === 'GET' ? undefined : 'kind=click', headers, method);
    expect(answer.status).toBe(Number(_));
    expect(answer.headers.get('connection')).toBe('close');
  });

  it('leaves the paths beside it to the app', async () => {
    const response = await fetch(`${t.url}${PATH}/more`, { method: 'POST' });
    expect(response.status).toBe(404);
  });

  describe('with other apps', () => {
    const apps: TestApp[] = [];
    const start = async (
      ...args: Parameters<typeof startApp> extends [unknown, ...infer R] ? R : never
    ) => {
      const app = await startApp(platform, ...args);
      apps.push(app);
      return app;
    };
    afterAll(async () => {
      for (const app of apps) await app.close();
    });

    it('admits an origin allowedOrigins names, and no other', async () => {
      const app = await start({ path: PATH, allowedOrigins: [OTHER_ORIGIN] });
      const body = json({ kind: 'click', ticket: 't1' });
      const crossSite = { 'sec-fetch-site': 'cross-site' };
      expect((await post(app, body, { ...crossSite, origin: OTHER_ORIGIN })).status).toBe(204);
      expect(
        (await post(app, body, { ...crossSite, origin: 'https://evil.example.net' })).status,
      ).toBe(403);
      await app.service.flush(5_000);
      expect(app.standIn.requests).toHaveLength(1);
    });

    it('skips a post of an allowed origin without visitor cookies (no made-up visitor)', async () => {
      const app = await start({ path: PATH, allowedOrigins: [OTHER_ORIGIN] });
      const body = json({ kind: 'click', ticket: 't1' });
      const crossSite = { 'sec-fetch-site': 'cross-site', origin: OTHER_ORIGIN, cookie: '' };
      const answer = await post(app, body, crossSite);
      expect(answer.status).toBe(204);
      expect(answer.setCookies).toEqual([]);
      expect(app.service.getStats().skippedBy.invalid).toBe(1);
      // The app's own pages still get a new visitor.
      const own = await post(app, body, { cookie: '' });
      expect(own.status).toBe(204);
      expect(own.setCookies).toHaveLength(2);
      await app.service.flush(5_000);
      expect(app.standIn.requests).toHaveLength(1);
    });

    it('refuses an Origin of the right host but another scheme (no Sec-Fetch-Site)', async () => {
      const app = await start({ path: PATH });
      const origin = app.url.replace(/^http:/, 'https:');
      const answer = await post(app, json({ kind: 'click', ticket: 't1' }), {
        'sec-fetch-site': '',
        origin,
      });
      expect(answer.status).toBe(403);
    });

    it('answers 429 with Retry-After past the rate limit', async () => {
      const app = await start({ path: PATH, rateLimit: { points: 3, durationS: 60 } });
      const body = json({ kind: 'click', ticket: 't1' });
      for (let i = 0; i < 3; i++) expect((await post(app, body)).status).toBe(204);
      const limited = await post(app, body);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      await app.service.flush(5_000);
      expect(app.standIn.requests).toHaveLength(3);
      expect(limited.headers.get('connection')).toBe('close');
    });

    it('counts only posts that pass the method, origin and type checks', async () => {
      const app = await start({ path: PATH, rateLimit: { points: 3, durationS: 60 } });
      const body = json({ kind: 'click', ticket: 't1' });
      for (let i = 0; i < 6; i++) {
        const refused = await post(app, body, {
          'sec-fetch-site': 'cross-site',
          origin: OTHER_ORIGIN,
        });
        expect(refused.status).toBe(403);
        expect((await post(app, body, { 'content-type': 'text/html' })).status).toBe(415);
      }
      expect((await post(app, body)).status).toBe(204);
    });

    it('keys the limit by the socket address when the forwarded one is no IP', async () => {
      const app = await start(
        { path: PATH, rateLimit: { points: 2, durationS: 60 } },
        {},
        { trustProxy: true },
      );
      const body = json({ kind: 'click', ticket: 't1' });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const junk = `${i}-${'z'.repeat(6_000)}`;
        statuses.push((await post(app, body, { 'x-forwarded-for': junk })).status);
      }
      expect(statuses).toEqual([204, 204, 429]);
      // A valid forwarded address is a client of its own.
      expect((await post(app, body, { 'x-forwarded-for': '203.0.113.9' })).status).toBe(204);
    });

    it('shares one limit among new clients once it tracks maxRateLimitKeys', async () => {
      const original = EsalesBeaconMiddleware.maxRateLimitKeys;
      EsalesBeaconMiddleware.maxRateLimitKeys = 2;
      try {
        const app = await start(
          { path: PATH, rateLimit: { points: 2, durationS: 60 } },
          {},
          { trustProxy: true },
        );
        const body = json({ kind: 'click', ticket: 't1' });
        const statuses: number[] = [];
        for (const client of ['1', '2', '3', '4', '5', '1']) {
          const forwarded = { 'x-forwarded-for': `198.51.100.${client}` };
          statuses.push((await post(app, body, forwarded)).status);
        }
        // Clients 1 and 2 are tracked; 3, 4 and 5 share the overflow bucket of 2 points.
        expect(statuses).toEqual([204, 204, 204, 204, 429, 204]);
      } finally {
        EsalesBeaconMiddleware.maxRateLimitKeys = original;
      }
    });

    it('answers 204 at once while Elevate hangs, the notification still in flight', async () => {
      const app = await start();
      app.standIn.respondWith(() => 'hang');
      const started = Date.now();
      const answer = await post(app, json({ kind: 'non-esales-click', productKey: 'p1' }));
      expect(answer.status).toBe(204);
      expect(Date.now() - started).toBeLessThan(1_000);
      await app.standIn.waitForRequests(1);
      expect(app.service.getStats().enqueued).toBe(1);
      expect(app.service.getStats().sent).toBe(0);
      expect(app.standIn.inFlight).toBe(1);
    });

    it('works with options from forRootAsync', async () => {
      const app = await start({ path: PATH }, {}, { async: true });
      const answer = await post(app, json({ kind: 'click', ticket: 't1' }));
      expect(answer.status).toBe(204);
      await app.service.flush(5_000);
      expect(app.standIn.requests.map((request) => request.body)).toEqual([
        expect.objectContaining({ customerKey: CUSTOMER, ticket: 't1' }),
      ]);
    });

    it('serves nothing without the beacon option', async () => {
      const app = await start(null);
      expect((await post(app, json({ kind: 'click', ticket: 't1' }))).status).toBe(404);
      expect(app.service.getStats().enqueued).toBe(0);
    });
  });
});
