import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  HttpCode,
  Injectable,
  NotFoundException,
  Param,
  Post,
  Redirect,
  Res,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { mergeMap, throwError } from 'rxjs';
import { CustomerKeyAuthentication } from '../../lib/auth/customer-key-authentication.js';
import { EsalesClickInterceptor } from '../../lib/click-tracking/esales-click.interceptor.js';
import { EsalesVisitorCookiesService } from '../../lib/click-tracking/esales-visitor-cookies.service.js';
import { TrackNonEsalesClick } from '../../lib/click-tracking/tracking.decorators.js';
import type { EsalesModuleOptions } from '../../lib/config/esales-options.interface.js';
import { EsalesArgumentError } from '../../lib/errors/esales-argument.error.js';
import type { StandInRequest } from '../../lib/testing/elevate-stand-in.js';
import {
  BROWSER_UA,
  testApp,
  type Platform,
  type TestApp,
  type TestAppOptions,
} from '../support/test-app.js';

const PRIVATE_KEY = 'click-tracking-private-key';
const SESSION = 'b106299c-eac0-4f6f-96d2-93e57c255784';
const CUSTOMER = 'd9528030-509c-4e0f-b585-7168f1e9feca';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SIGNED_IN = new CustomerKeyAuthentication(PRIVATE_KEY, 'internal-user-42');
const GOOGLEBOT_UA = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

type Sender = { send(body: string): unknown };

/** Express's `res.redirect(status, url)` and Fastify's `reply.redirect(url, status)`. */
function redirect(response: unknown, url: string): void {
  if (typeof response === 'object' && response !== null && 'raw' in response) {
    (response as unknown as { redirect(url: string, status: number): unknown }).redirect(url, 302);
  } else {
    (response as { redirect(status: number, url: string): unknown }).redirect(302, url);
  }
}

const TRACK = { productKey: 'productKey', variantKey: { query: 'variant' } } as const;

@Controller('products')
class ProductsController {
  @Get(':productKey/redirect')
  @Redirect()
  @TrackNonEsalesClick({ ...TRACK, market: { query: 'market' } })
  redirect(@Param('productKey') productKey: string) {
    if (productKey === 'missing') throw new NotFoundException('no such product');
    return { url: `/p/${encodeURIComponent(productKey)}` };
  }

  @Get(':productKey/moved')
  @Redirect('/fallback', 302)
  @TrackNonEsalesClick(TRACK)
  moved(@Param('productKey') productKey: string) {
    return { url: `/p/${encodeURIComponent(productKey)}`, statusCode: 301 };
  }

  @Get(':productKey/passthrough')
  @TrackNonEsalesClick(TRACK)
  passthrough(@Param('productKey') productKey: string, @Res({ passthrough: true }) res: unknown) {
    redirect(res, `/p/${encodeURIComponent(productKey)}`);
  }

  @Get(':productKey/manual')
  @TrackNonEsalesClick(TRACK)
  manual(@Param('productKey') productKey: string, @Res() res: unknown) {
    redirect(res, `/p/${encodeURIComponent(productKey)}`);
  }

  @Get(':productKey/gone')
  @TrackNonEsalesClick(TRACK)
  gone(@Res() res: unknown) {
    // Express: res.status(404).send(); Fastify: reply.code(404).send().
    const reply = res as { status?: (s: number) => Sender; code?: (s: number) => Sender };
    (reply.code ?? reply.status)?.call(res, 404).send('gone');
  }

  @Get(':productKey/not-here')
  @HttpCode(404)
  @TrackNonEsalesClick(TRACK)
  notHere() {
    return { message: 'not here' };
  }

  @Get(':productKey/odd')
  @Redirect('/p/odd')
  @TrackNonEsalesClick({ productKey: 'productKey', variantKey: 'constructor' })
  odd() {
    return undefined;
  }

  @Get(':productKey/untracked')
  @Redirect()
  untracked(@Param('productKey') productKey: string) {
    return { url: `/p/${productKey}` };
  }
}

/** Every route of the class is tracked. */
@Controller('catalog')
@TrackNonEsalesClick({ productKey: (request) => (request.params as { key?: string }).key })
class CatalogController {
  @Get(':key')
  @Redirect()
  go(@Param('key') key: string) {
    return { url: `/p/${key}` };
  }
}

@Controller('account')
class AccountController {
  constructor(private readonly cookies: EsalesVisitorCookiesService) {}

  @Post('sign-in')
  @HttpCode(204)
  signIn(@Res({ passthrough: true }) res: unknown): void {
    this.cookies.signIn(res, 'internal-user-42');
  }

  @Post('sign-out')
  @HttpCode(204)
  signOut(@Res({ passthrough: true }) res: unknown): void {
    this.cookies.signOut(res);
  }
}

/** An app of the three controllers on `platform`, with a stand-in of its own. */
const startApp = (
  platform: Platform,
  options: Partial<EsalesModuleOptions>,
  more: TestAppOptions = {},
): Promise<TestApp> =>
  testApp({
    platform,
    options: { markets: { UK: {}, Sweden: {} }, privateKey: PRIVATE_KEY, ...options },
    controllers: [ProductsController, CatalogController, AccountController],
    ...more,
  });

interface Visit {
  status: number;
  location: string | null;
  setCookies: string[];
  at: number;
}

async function visit(
  base: string,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Visit> {
  const response = await fetch(base + path, {
    method,
    redirect: 'manual',
    headers: { 'user-agent': BROWSER_UA, ...headers },
  });
  await response.arrayBuffer();
  return {
    status: response.status,
    location: response.headers.get('location'),
    setCookies: response.headers.getSetCookie(),
    at: Date.now(),
  };
}

const cookieHeader = (cookies: Record<string, string>): string =>
  Object.entries(cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');

const VISITOR_COOKIES = cookieHeader({
  'apptus.sessionKey': SESSION,
  'apptus.customerKey': CUSTOMER,
});

/** The value of a Set-Cookie line for `name`, and its attributes. */
function cookieOf(setCookies: string[], name: string): { value: string; line: string } | undefined {
  const line = setCookies.find((c) => c.startsWith(`${name}=`));
  if (!line) return undefined;
  return { value: decodeURIComponent(line.slice(name.length + 1).split(';')[0] ?? ''), line };
}

describe.each<Platform>(['express', 'fastify'])('click tracking on %s', (platform) => {
  let t: TestApp;

  /** The requests the stand-in has received so far, once the app's queue is idle. */
  const delivered = async (): Promise<StandInRequest[]> => {
    await t.service.flush(5_000);
    return t.standIn.requests;
  };

  beforeAll(async () => {
    // Longer than the 2 s the slow stand-in below takes to answer.
    t = await startApp(platform, { requestTimeoutMs: 5_000 });
  });

  afterAll(() => t.close());

  beforeEach(() => t.standIn.clear());
  afterEach(() => t.standIn.respondWith());

  it('sends the click of a visitor with Apptus cookies, and sets no cookie', async () => {
    const before = t.service.getStats();
    const response = await visit(t.url, '/products/shirt_79709/redirect?variant=shirt_79709_M', {
      cookie: VISITOR_COOKIES,
    });
    expect(response.status).toBe(302);
    expect(response.location).toBe('/p/shirt_79709');
    expect(response.setCookies).toEqual([]);
    const [request, ...more] = await delivered();
    expect(more).toHaveLength(0);
    expect(request?.status).toBe(204);
    expect(request?.body).toEqual({
      market: 'UK',
      customerKey: CUSTOMER,
      sessionKey: SESSION,
      id: expect.stringMatching(UUID),
      productKey: 'shirt_79709',
      variantKey: 'shirt_79709_M',
    });
    expect(t.service.getStats().sent).toBe(before.sent + 1);
  });

  it('gives a visitor without cookies fresh ids, sent with the click and set on the redirect', async () => {
    const response = await visit(t.url, '/products/shirt_79709/redirect');
    expect(response.status).toBe(302);
    const session = cookieOf(response.setCookies, 'apptus.sessionKey');
    const customer = cookieOf(response.setCookies, 'apptus.customerKey');
    expect(session?.value).toMatch(UUID);
    expect(customer?.value).toMatch(UUID);
    expect(session?.value).not.toBe(customer?.value);
    for (const cookie of [session, customer]) {
      expect(cookie?.line).toContain('Path=/');
      expect(cookie?.line).toContain('Max-Age=31536000');
      expect(cookie?.line).toContain('SameSite=Lax');
      // Elevate's browser library reads these cookies: never HttpOnly. Plain http: not Secure.
      expect(cookie?.line).not.toMatch(/HttpOnly/i);
      expect(cookie?.line).not.toMatch(/Secure/i);
    }
    const [request] = await delivered();
    expect(request?.body).toMatchObject({
      customerKey: customer?.value,
      sessionKey: session?.value,
      productKey: 'shirt_79709',
      variantKey: null,
    });
  });

  it('keeps an existing session and only adds the missing customer key', async () => {
    const response = await visit(t.url, '/products/p1/redirect', {
      cookie: cookieHeader({ 'apptus.sessionKey': SESSION, other: 'x' }),
    });
    expect(cookieOf(response.setCookies, 'apptus.sessionKey')).toBeUndefined();
    const customer = cookieOf(response.setCookies, 'apptus.customerKey');
    expect(customer?.value).toMatch(UUID);
    const [request] = await delivered();
    expect(request?.body).toMatchObject({ sessionKey: SESSION, customerKey: customer?.value });
  });

  it('sends a signed-in visitor with a token that verifies', async () => {
    const response = await visit(t.url, '/products/p1/redirect', {
      cookie: cookieHeader({
        'apptus.sessionKey': SESSION,
        'apptus.customerKey': SIGNED_IN.customerKey,
        'apptus.token': SIGNED_IN.token,
      }),
    });
    expect(response.status).toBe(302);
    const [request] = await delivered();
    expect(request?.status).toBe(204);
    expect(request?.body).toMatchObject({
      customerKey: SIGNED_IN.customerKey,
      token: SIGNED_IN.token,
    });
  });

  it('does not send a signed-in visitor whose token does not verify, and counts it', async () => {
    const before = t.service.getStats().skippedBy.customerKeyNotVerified;
    const other = new CustomerKeyAuthentication('another-key', 'internal-user-42');
    for (const token of [other.token, undefined]) {
      const response = await visit(t.url, '/products/p1/redirect', {
        cookie: cookieHeader({
          'apptus.sessionKey': SESSION,
          'apptus.customerKey': SIGNED_IN.customerKey,
          ...(token ? { 'apptus.token': token } : {}),
        }),
      });
      expect(response.status).toBe(302);
      expect(response.setCookies).toEqual([]);
    }
    expect(await delivered()).toHaveLength(0);
    expect(t.service.getStats().skippedBy.customerKeyNotVerified).toBe(before + 2);
    expect(t.logs.text()).not.toContain(other.token);
  });

  it('drops a stale token cookie of an anonymous visitor instead of sending it', async () => {
    await visit(t.url, '/products/p1/redirect', {
      cookie: `${VISITOR_COOKIES}; apptus.token=not-a-token`,
    });
    const [request] = await delivered();
    expect(request?.status).toBe(204);
    expect(request?.body).not.toHaveProperty('token');
  });

  it('does not notify for a bot, and counts it', async () => {
    const before = t.service.getStats().skippedBy.bot;
    const response = await visit(t.url, '/products/p1/redirect', { 'user-agent': GOOGLEBOT_UA });
    expect(response.status).toBe(302);
    expect(response.setCookies).toEqual([]);
    expect(await delivered()).toHaveLength(0);
    expect(t.service.getStats().skippedBy.bot).toBe(before + 1);
  });

  it('sends nothing, and sets no cookie, when the handler throws', async () => {
    const response = await visit(t.url, '/products/missing/redirect');
    expect(response.status).toBe(404);
    expect(response.setCookies).toEqual([]);
    expect(await delivered()).toHaveLength(0);
  });

  it.each([
    ['a @Res() handler answering 404 itself', '/products/p1/gone'],
    ['a handler with @HttpCode(404) that does not throw', '/products/p1/not-here'],
  ])('sends nothing, and sets no cookie, for %s', async (_case, path) => {
    const response = await visit(t.url, path);
    expect(response.status).toBe(404);
    expect(response.setCookies).toEqual([]);
    expect(await delivered()).toHaveLength(0);
  });

  it('skips HEAD requests (link checkers, mail scanners), and counts them', async () => {
    const before = t.service.getStats().skippedBy.headRequest;
    const response = await visit(t.url, '/products/p1/redirect', {}, 'HEAD');
    expect(response.status).toBe(302);
    expect(response.setCookies).toEqual([]);
    expect(await delivered()).toHaveLength(0);
    expect(t.service.getStats().skippedBy.headRequest).toBe(before + 1);
  });

  it('counts a request without a user agent as a bot', async () => {
    const before = t.service.getStats().skippedBy.bot;
    const response = await visit(t.url, '/products/p1/redirect', { 'user-agent': '' });
    expect(response.status).toBe(302);
    expect(await delivered()).toHaveLength(0);
    expect(t.service.getStats().skippedBy.bot).toBe(before + 1);
  });

  it('falls back to the default market for an empty ?market=', async () => {
    await visit(t.url, '/products/p1/redirect?market=', { cookie: VISITOR_COOKIES });
    const [request] = await delivered();
    expect(request?.body).toMatchObject({ market: 'UK' });
  });

  it.each([
    ['a returned { url, statusCode }', '/products/p2/moved', 301],
    ['res.redirect() with @Res({ passthrough: true })', '/products/p2/passthrough', 302],
    ['res.redirect() with plain @Res()', '/products/p2/manual', 302],
    ['a decorator on the controller class, with a function source', '/catalog/p2', 302],
  ])('tracks %s', async (_case, path, status) => {
    const response = await visit(t.url, `${path}?variant=v2`);
    expect(response.status).toBe(status);
    expect(response.location).toBe('/p/p2');
    const customer = cookieOf(response.setCookies, 'apptus.customerKey');
    expect(customer?.value).toMatch(UUID);
    const [request, ...more] = await delivered();
    expect(more).toHaveLength(0);
    expect(request?.body).toMatchObject({ productKey: 'p2', customerKey: customer?.value });
  });

  it('does not track a route without the decorator', async () => {
    const response = await visit(t.url, '/products/p1/untracked', { cookie: VISITOR_COOKIES });
    expect(response.status).toBe(302);
    expect(await delivered()).toHaveLength(0);
  });

  it('takes the market from the decorator and skips a market outside `markets`', async () => {
    await visit(t.url, '/products/p1/redirect?market=Sweden', { cookie: VISITOR_COOKIES });
    const [request] = await delivered();
    expect(request?.body).toMatchObject({ market: 'Sweden' });

    t.standIn.clear();
    const before = t.service.getStats().skippedBy.unknownMarket;
    const response = await visit(t.url, '/products/p1/redirect?market=Narnia', {
      cookie: VISITOR_COOKIES,
    });
    expect(response.status).toBe(302);
    expect(await delivered()).toHaveLength(0);
    expect(t.service.getStats().skippedBy.unknownMarket).toBe(before + 1);
    expect(t.logs.lines.some((l) => l.level === 'warn' && l.message.includes('"Narnia"'))).toBe(
      true,
    );
  });

  it.each([
    ['a product key over 512 characters', `/products/${'k'.repeat(513)}/redirect`],
    ['a control character', '/products/p%01x/redirect'],
    ['a repeated query parameter (an array)', '/products/p1/redirect?variant=a&variant=b'],
    ['an over-long market', `/products/p1/redirect?market=${'m'.repeat(101)}`],
  ])('skips %s, logs it at debug and leaves the response alone', async (_case, path) => {
    const before = t.service.getStats().skippedBy.invalid;
    const logged = t.logs.lines.length;
    const response = await visit(t.url, path);
    // Fastify refuses route parameters over 100 characters itself (414 URI Too Long).
    const refusedByFastify = platform === 'fastify' && path.length > 200;
    expect(response.status).toBe(refusedByFastify ? 414 : 302);
    expect(response.setCookies).toEqual([]);
    expect(await delivered()).toHaveLength(0);
    expect(t.service.getStats().skippedBy.invalid).toBe(before + (refusedByFastify ? 0 : 1));
    const debug = t.logs.lines.slice(logged).filter((l) => l.level === 'debug');
    expect(debug.some((l) => l.message.startsWith('Skipped a notification'))).toBe(
      !refusedByFastify,
    );
  });

  it('reads parameters as own properties only: __proto__ and friends reach nothing', async () => {
    const response = await visit(
      t.url,
      '/products/p1/redirect?__proto__[variant]=x&variant[toString]=z',
      { cookie: VISITOR_COOKIES },
    );
    expect(response.status).toBe(302);
    // A source named after an Object.prototype member finds no such parameter, not the inherited one.
    const odd = await visit(t.url, '/products/p1/odd', { cookie: VISITOR_COOKIES });
    expect(odd.status).toBe(302);
    const requests = await delivered();
    expect(requests.map((r) => r.status)).toEqual([204, 204]);
    for (const request of requests) {
      expect((request.body as { variantKey: unknown }).variantKey).toBeNull();
    }
    expect(({} as Record<string, unknown>)['variant']).toBeUndefined();
  });

  it('answers the redirect before Elevate has answered the notification', async () => {
    let answered = false;
    t.standIn.respondWith(async (_request, elevate) => {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      answered = true;
      return elevate();
    });
    const response = await visit(t.url, '/products/slow/redirect', { cookie: VISITOR_COOKIES });
    expect(response.status).toBe(302);
    expect(answered).toBe(false);
    const [request] = await delivered();
    expect(answered).toBe(true);
    expect(request?.status).toBe(204);
  });

  it('sets and clears the signed-in cookies from sign-in and sign-out routes', async () => {
    const signIn = await visit(t.url, '/account/sign-in', {}, 'POST');
    expect(signIn.status).toBe(204);
    const customer = cookieOf(signIn.setCookies, 'apptus.customerKey');
    const token = cookieOf(signIn.setCookies, 'apptus.token');
    expect(customer?.value).toBe(SIGNED_IN.customerKey);
    expect(token?.value).toBe(SIGNED_IN.token);
    expect(token?.line).toContain('Path=/');
    expect(token?.line).not.toMatch(/HttpOnly/i);

    // The browser sends them back on the next click, which Elevate accepts.
    await visit(t.url, '/products/p1/redirect', {
      cookie: cookieHeader({
        'apptus.sessionKey': SESSION,
        'apptus.customerKey': customer?.value ?? '',
        'apptus.token': token?.value ?? '',
      }),
    });
    const [request] = await delivered();
    expect(request?.status).toBe(204);

    const signOut = await visit(t.url, '/account/sign-out', {}, 'POST');
    for (const name of ['apptus.customerKey', 'apptus.token']) {
      const cleared = cookieOf(signOut.setCookies, name);
      expect(cleared?.value).toBe('');
      expect(cleared?.line).toContain('Max-Age=0');
      expect(cleared?.line).toContain('Path=/');
    }
  });
});

describe.each<Platform>(['express', 'fastify'])('click tracking options on %s', (platform) => {
  const apps: TestApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  /** A fresh app and stand-in for one test, closed after it. */
  const start = async (
    options: Partial<EsalesModuleOptions>,
    more?: TestAppOptions,
  ): Promise<TestApp> => {
    const app = await startApp(platform, options, more);
    apps.push(app);
    return app;
  };

  it('takes the visitor from resolveVisitor, e.g. the app’s own auth', async () => {
    const t = await start({
      resolveVisitor: (request) =>
        request.headers['x-user'] === 'internal-user-42'
          ? { customerKey: SIGNED_IN.customerKey, token: SIGNED_IN.token }
          : undefined,
    });
    await visit(t.url, '/products/p1/redirect', {
      'x-user': 'internal-user-42',
      cookie: cookieHeader({ 'apptus.sessionKey': SESSION, 'apptus.customerKey': CUSTOMER }),
    });
    await t.service.flush();
    expect(t.standIn.requests[0]?.status).toBe(204);
    expect(t.standIn.requests[0]?.body).toMatchObject({
      sessionKey: SESSION,
      customerKey: SIGNED_IN.customerKey,
      token: SIGNED_IN.token,
    });
  });

  it('takes the market from resolveMarket when the decorator gives none', async () => {
    const t = await start({
      resolveMarket: (request) => (request.headers['accept-language'] === 'sv' ? 'Sweden' : null),
    });
    await visit(t.url, '/products/p1/moved', { 'accept-language': 'sv', cookie: VISITOR_COOKIES });
    await visit(t.url, '/products/p1/moved', { cookie: VISITOR_COOKIES });
    await t.service.flush();
    expect(t.standIn.requests.map((r) => (r.body as { market: string }).market)).toEqual([
      'Sweden',
      'UK',
    ]);
  });

  it('skips the click, and still redirects, when a resolver throws', async () => {
    const t = await start({
      resolveMarket: () => {
        throw new Error('market service down');
      },
    });
    const response = await visit(t.url, '/products/p1/moved', { cookie: VISITOR_COOKIES });
    expect(response.status).toBe(301);
    await t.service.flush();
    expect(t.standIn.requests).toHaveLength(0);
    expect(
      t.logs.lines.some((l) => l.level === 'warn' && l.message.includes('market service down')),
    ).toBe(true);
  });

  it('skips the click when a resolver returns a promise (resolvers must be synchronous)', async () => {
    const t = await start({ resolveMarket: () => Promise.reject(new Error('async')) as never });
    const response = await visit(t.url, '/products/p1/moved', { cookie: VISITOR_COOKIES });
    expect(response.status).toBe(301);
    await t.service.flush();
    expect(t.standIn.requests).toHaveLength(0);
    expect(t.logs.lines.some((l) => l.level === 'warn' && l.message.includes('synchronous'))).toBe(
      true,
    );
  });

  it('sends nothing, and sets no cookie, when an outer interceptor fails after the handler', async () => {
    @Injectable()
    class FailingAfterHandler implements NestInterceptor {
      intercept(_context: ExecutionContext, next: CallHandler) {
        return next
          .handle()
          .pipe(mergeMap(() => throwError(() => new Error('outer interceptor failed'))));
      }
    }
    const t = await start(
      {},
      { providers: [{ provide: APP_INTERCEPTOR, useClass: FailingAfterHandler }] },
    );
    const response = await visit(t.url, '/products/p1/redirect');
    expect(response.status).toBe(500);
    expect(response.setCookies).toEqual([]);
    await t.service.flush();
    expect(t.standIn.requests).toHaveLength(0);
  });

  it('sends once when the interceptor is also registered globally', async () => {
    const t = await start(
      {},
      { providers: [{ provide: APP_INTERCEPTOR, useClass: EsalesClickInterceptor }] },
    );
    const response = await visit(t.url, '/products/p1/redirect', { cookie: VISITOR_COOKIES });
    expect(response.status).toBe(302);
    await t.service.flush();
    expect(t.standIn.requests).toHaveLength(1);
    expect(t.service.getStats().enqueued).toBe(1);
  });

  it('lets a subclass registered globally change the protected hooks', async () => {
    class HeaderMarketInterceptor extends EsalesClickInterceptor {
      protected override resolveMarket(): unknown {
        return 'Sweden';
      }
    }
    const t = await start(
      {},
      { providers: [{ provide: APP_INTERCEPTOR, useClass: HeaderMarketInterceptor }] },
    );
    await visit(t.url, '/products/p1/moved', { cookie: VISITOR_COOKIES });
    await t.service.flush();
    expect(t.standIn.requests.map((r) => (r.body as { market: string }).market)).toEqual([
      'Sweden',
    ]);
  });

  it('notifies bots too with ignoreBots: false, and sets no cookie with assignVisitorCookies: false', async () => {
    const t = await start({ ignoreBots: false, assignVisitorCookies: false });
    const response = await visit(t.url, '/products/p1/redirect', { 'user-agent': GOOGLEBOT_UA });
    expect(response.setCookies).toEqual([]);
    await t.service.flush();
    expect(t.standIn.requests).toHaveLength(1);
    expect(t.standIn.requests[0]?.body).toMatchObject({
      customerKey: expect.stringMatching(UUID),
      sessionKey: expect.stringMatching(UUID),
    });
  });

  it('uses the configured cookie names and domain, and Secure behind an https proxy', async () => {
    const t = await start(
      { cookieNames: { sessionKey: 'sk', customerKey: 'ck' }, cookieDomain: '.example.com' },
      { trustProxy: true },
    );
    const response = await visit(t.url, '/products/p1/redirect', {
      'x-forwarded-proto': 'https',
      cookie: cookieHeader({ sk: SESSION }),
    });
    expect(cookieOf(response.setCookies, 'sk')).toBeUndefined();
    const customer = cookieOf(response.setCookies, 'ck');
    expect(customer?.line).toContain('Domain=.example.com');
    expect(customer?.line).toContain('Secure');
    await t.service.flush();
    expect(t.standIn.requests[0]?.body).toMatchObject({
      sessionKey: SESSION,
      customerKey: customer?.value,
    });
  });

  it('still redirects at once while the cluster is down', async () => {
    const t = await start({
      maxAttempts: 2,
      breakerThreshold: 2,
      breakerCooldownMs: 100,
      deliveryTimeoutMs: 1_000,
    });
    // The cluster goes away before the first click: nothing listens on its port.
    await t.standIn.close();
    for (let i = 0; i < 5; i++) {
      const response = await visit(t.url, `/products/p${i}/redirect`, { cookie: VISITOR_COOKIES });
      expect(response.status).toBe(302);
    }
    expect(await t.service.flush(10_000)).toBe(true);
    const stats = t.service.getStats();
    expect(stats.enqueued).toBe(5);
    expect(stats.sent).toBe(0);
    expect(stats.failed + stats.expired).toBe(5);
  });
});

describe('@TrackNonEsalesClick() options', () => {
  it.each([
    ['no key at all', {}],
    ['a misspelt option', { productKey: 'productKey', qurey: 'variant' }],
    ['a source of the wrong shape', { productKey: { header: 'x-product' } }],
    ['an empty parameter name', { productKey: '' }],
  ])('throws EsalesArgumentError at decoration time for %s', (_case, options) => {
    expect(() => TrackNonEsalesClick(options as never)).toThrow(EsalesArgumentError);
  });
});
