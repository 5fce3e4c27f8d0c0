import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
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
  extra: { async?: boolean } = {},
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

  it('takes application/json as well (parsed by the platform first on Express)', async () => {
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
    });

    it('answers 204 while Elevate is down', async () => {
      const app = await start();
      await app.standIn.close();
      const started = Date.now();
      const answer = await post(app, json({ kind: 'non-esales-click', productKey: 'p1' }));
      expect(answer.status).toBe(204);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(app.service.getStats().enqueued).toBe(1);
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
