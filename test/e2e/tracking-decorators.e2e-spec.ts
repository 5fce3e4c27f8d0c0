import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Param, Post, Redirect, Req, Res } from '@nestjs/common';
import { CustomerKeyAuthentication } from '../../lib/auth/customer-key-authentication.js';
import { EsalesVisitorCookiesService } from '../../lib/click-tracking/esales-visitor-cookies.service.js';
import { TrackAddToCart, TrackClick } from '../../lib/click-tracking/tracking.decorators.js';
import { EsalesArgumentError } from '../../lib/errors/esales-argument.error.js';
import {
  BROWSER_UA,
  TEST_PRIVATE_KEY,
  testApp,
  type Platform,
  type TestApp,
} from '../support/test-app.js';

/*
 * @TrackClick and @TrackAddToCart on real Express and Fastify apps, and endSession on sign-out: the
 * kind each request sends, what is skipped, and that hostile input never changes the visitor's
 * response (compared with an identical route that tracks nothing).
 */

const SESSION = 'b106299c-eac0-4f6f-96d2-93e57c255784';
const CUSTOMER = 'd9528030-509c-4e0f-b585-7168f1e9feca';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SIGNED_IN = new CustomerKeyAuthentication(TEST_PRIVATE_KEY, 'internal-user-42');
const COOKIES = `apptus.sessionKey=${SESSION}; apptus.customerKey=${CUSTOMER}`;

@Controller()
class ShopController {
  constructor(private readonly visitorCookies: EsalesVisitorCookiesService) {}

  @Get('products/:productKey/redirect')
  @Redirect()
  @TrackClick({
    ticket: { query: 'ticket' },
    productKey: 'productKey',
    variantKey: { query: 'variant' },
  })
  redirect(@Param('productKey') productKey: string) {
    return { url: `/p/${encodeURIComponent(productKey)}` };
  }

  @Get('panel/redirect')
  @Redirect('/from-panel')
  @TrackClick({ ticket: { query: 'ticket' } })
  panel() {
    return undefined;
  }

  @Post('cart/items')
  @TrackAddToCart({
    ticket: { body: 'ticket' },
    productKey: { body: 'productKey' },
    variantKey: { body: 'variantKey' },
  })
  add(@Body() body: unknown) {
    return { added: typeof body };
  }

  /** The same route without tracking: what the visitor gets when nothing is tracked. */
  @Post('cart/untracked-items')
  addUntracked(@Body() body: unknown) {
    return { added: typeof body };
  }

  @Post('account/sign-out')
  @HttpCode(204)
  signOut(@Req() request: unknown, @Res({ passthrough: true }) response: unknown) {
    this.visitorCookies.endSession(request, response);
  }
}

interface Answer {
  status: number;
  body: string;
  setCookies: string[];
}

async function call(
  base: string,
  path: string,
  init: { method?: string; body?: string; cookie?: string; type?: string } = {},
): Promise<Answer> {
  const response = await fetch(base + path, {
    method: init.method ?? 'GET',
    redirect: 'manual',
    headers: {
      'user-agent': BROWSER_UA,
      ...(init.body !== undefined ? { 'content-type': init.type ?? 'application/json' } : {}),
      ...(init.cookie ? { cookie: init.cookie } : {}),
    },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  return {
    status: response.status,
    body: await response.text(),
    setCookies: response.headers.getSetCookie(),
  };
}

const post = (base: string, path: string, body: string, cookie = COOKIES) =>
  call(base, path, { method: 'POST', body, cookie });

describe.each<Platform>(['express', 'fastify'])('tracking decorators on %s', (platform) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await testApp({ platform, controllers: [ShopController] });
  });
  afterAll(() => t.close());
  beforeEach(() => t.standIn.clear());

  /** The kinds Elevate received, after every queued notification settled. */
  const kindsSent = async () => {
    await t.service.flush();
    return t.standIn.requests.map((r) => r.kind);
  };

  describe('@TrackClick', () => {
    it('sends click with the ticket when the link carries one', async () => {
      const answer = await call(t.url, '/products/shirt/redirect?ticket=OzE7Mjs', {
        cookie: COOKIES,
      });
      expect(answer.status).toBe(302);
      expect(await kindsSent()).toEqual(['click']);
      expect(t.standIn.requests[0]?.body).toEqual({
        market: 'UK',
        customerKey: CUSTOMER,
        sessionKey: SESSION,
        id: expect.stringMatching(UUID),
        ticket: 'OzE7Mjs',
      });
    });

    it('sends non-esales-click from the product and variant keys without one', async () => {
      await call(t.url, '/products/shirt/redirect?variant=grey', { cookie: COOKIES });
      expect(await kindsSent()).toEqual(['non-esales-click']);
      expect(t.standIn.requests[0]?.body).toMatchObject({
        productKey: 'shirt',
        variantKey: 'grey',
      });
    });

    it('treats an empty ticket as none', async () => {
      await call(t.url, '/products/shirt/redirect?ticket=', { cookie: COOKIES });
      expect(await kindsSent()).toEqual(['non-esales-click']);
    });

    it('skips a request with neither, counted as invalid for its kind, and still redirects', async () => {
      const before = t.service.getStats().byKind.click.skippedBy.invalid;
      const answer = await call(t.url, '/panel/redirect', { cookie: COOKIES });
      expect(answer.status).toBe(302);
      expect(await kindsSent()).toEqual([]);
      expect(t.service.getStats().byKind.click.skippedBy.invalid).toBe(before + 1);
    });

    it('skips a repeated ticket parameter (an array) as invalid', async () => {
      const answer = await call(t.url, '/panel/redirect?ticket=a&ticket=b', { cookie: COOKIES });
      expect(answer.status).toBe(302);
      expect(await kindsSent()).toEqual([]);
    });
  });

  describe('@TrackAddToCart', () => {
    it('sends adding-to-cart with a ticket from the JSON body', async () => {
      const answer = await post(t.url, '/cart/items', '{"ticket":"OzE7MTc7","productKey":"p"}');
      expect(answer.status).toBe(201);
      expect(await kindsSent()).toEqual(['adding-to-cart']);
      expect(t.standIn.requests[0]?.rawBody).toMatch(/"id":"[0-9a-f-]{36}","ticket":"OzE7MTc7"}$/);
    });

    it('sends non-esales-adding-to-cart from the body keys without a ticket', async () => {
      await post(t.url, '/cart/items', '{"productKey":"p","variantKey":"v"}');
      expect(await kindsSent()).toEqual(['non-esales-adding-to-cart']);
      expect(t.standIn.requests[0]?.body).toMatchObject({ productKey: 'p', variantKey: 'v' });
    });

    it('reads body fields only from a JSON body, not from a form post', async () => {
      const answer = await call(t.url, '/cart/items', {
        method: 'POST',
        body: 'productKey=p&variantKey=v',
        type: 'application/x-www-form-urlencoded',
        cookie: COOKIES,
      });
      expect(answer.status).toBe(201);
      expect(await kindsSent()).toEqual([]);
    });

    it('gives a visitor without cookies fresh ones, and sends with them', async () => {
      const answer = await post(t.url, '/cart/items', '{"productKey":"p"}', '');
      expect(answer.setCookies.some((c) => c.startsWith('apptus.sessionKey='))).toBe(true);
      expect(await kindsSent()).toEqual(['non-esales-adding-to-cart']);
    });

    it.each([
      ['an array', '[{"productKey":"p"}]'],
      ['a nested object as key', '{"productKey":{"$gt":""}}'],
      ['a __proto__ key', '{"__proto__":{"productKey":"p"}}'],
      ['a constructor.prototype key', '{"constructor":{"prototype":{"productKey":"p"}}}'],
      ['a key too long', `{"productKey":"${'x'.repeat(5000)}"}`],
      ['a control character', '{"productKey":"p\\u0000"}'],
      ['a ticket array', '{"ticket":["a","b"]}'],
      ['a JSON string', '"productKey"'],
      ['a number', '42'],
      ['malformed JSON', '{"productKey":'],
      ['an empty object', '{}'],
    ])('skips %s, and answers exactly as an untracked route', async (_name, body) => {
      const before = t.service.getStats();
      const tracked = await post(t.url, '/cart/items', body);
      const untracked = await post(t.url, '/cart/untracked-items', body);
      expect({ status: tracked.status, body: tracked.body }).toEqual({
        status: untracked.status,
        body: untracked.body,
      });
      expect(await kindsSent()).toEqual([]);
      const after = t.service.getStats();
      // Skipped as invalid when the route succeeded; a 4xx from the platform tracks nothing at all.
      if (tracked.status < 400) expect(after.skippedBy.invalid).toBe(before.skippedBy.invalid + 1);
      expect(after.enqueued).toBe(before.enqueued);
      expect(t.logs.lines.filter((l) => l.level === 'error')).toEqual([]);
    });
  });

  describe('endSession on sign-out', () => {
    it("sends end for the cookies' visitor, then renews the session and the customer key", async () => {
      const answer = await post(t.url, '/account/sign-out', '{}');
      expect(answer.status).toBe(204);
      expect(await kindsSent()).toEqual(['end']);
      expect(t.standIn.requests[0]?.rawBody).toBe(
        `{"market":"UK","customerKey":"${CUSTOMER}","sessionKey":"${SESSION}"}`,
      );
      const value = (name: string) =>
        answer.setCookies
          .find((c) => c.startsWith(`${name}=`))
          ?.split(';')[0]
          ?.split('=')[1];
      expect(value('apptus.sessionKey')).toMatch(UUID);
      expect(value('apptus.sessionKey')).not.toBe(SESSION);
      expect(value('apptus.customerKey')).toMatch(UUID);
      expect(value('apptus.customerKey')).not.toBe(CUSTOMER);
      expect(value('apptus.token')).toBe('');
    });

    it('ends a signed-in session with its token', async () => {
      const cookie = `apptus.sessionKey=${SESSION}; apptus.customerKey=${SIGNED_IN.customerKey}; apptus.token=${SIGNED_IN.token}`;
      await post(t.url, '/account/sign-out', '{}', cookie);
      expect(await kindsSent()).toEqual(['end']);
      expect(t.standIn.requests[0]?.body).toEqual({
        market: 'UK',
        customerKey: SIGNED_IN.customerKey,
        sessionKey: SESSION,
        token: SIGNED_IN.token,
      });
      expect(t.standIn.requests[0]?.status).toBe(204);
    });

    it('renews the cookies of a visitor without a session, with nothing to end', async () => {
      const answer = await post(t.url, '/account/sign-out', '{}', '');
      expect(answer.status).toBe(204);
      expect(await kindsSent()).toEqual([]);
      expect(answer.setCookies.some((c) => c.startsWith('apptus.sessionKey='))).toBe(true);
    });
  });
});

describe('tracking decorator options', () => {
  it.each([
    [() => TrackClick({}), '@TrackClick(): give ticket, productKey, variantKey or several'],
    [
      () => TrackAddToCart({ market: 'm' }),
      '@TrackAddToCart(): give ticket, productKey, variantKey or several',
    ],
    [
      () => TrackAddToCart({ ticket: { body: '' } }),
      '@TrackAddToCart(): ticket must be a route parameter name, { param: name }, { query: name }, { body: name } or a function',
    ],
    [() => TrackClick({ ticket: 't', sku: 's' } as never), '@TrackClick(): "sku" is not an option'],
  ])('refuse at boot what could never yield a notification (%#)', (decorate, message) => {
    expect(decorate).toThrow(EsalesArgumentError);
    expect(decorate).toThrow(message);
  });
});
