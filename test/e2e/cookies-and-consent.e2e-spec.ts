import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Param, Redirect, Req, Res } from '@nestjs/common';
import { CustomerKeyAuthentication } from '../../lib/auth/customer-key-authentication.js';
import { EsalesVisitorCookiesService } from '../../lib/click-tracking/esales-visitor-cookies.service.js';
import { TrackClick } from '../../lib/click-tracking/tracking.decorators.js';
import { visitorCookie } from '../../lib/click-tracking/visitor-cookies.js';
import type { EsalesModuleOptions } from '../../lib/config/esales-options.interface.js';
import {
  BROWSER_UA,
  TEST_PRIVATE_KEY,
  testApp,
  type Platform,
  type TestApp,
} from '../support/test-app.js';

/*
 * The package's cookies never clobber the app's (finding 4), `cookieSecure` (finding 6) and the
 * consent gate, on Express and Fastify.
 */

const SESSION = 'b106299c-eac0-4f6f-96d2-93e57c255784';
const CUSTOMER = 'd9528030-509c-4e0f-b585-7168f1e9feca';
const APP_SESSION = '0a5b1f0e-5d35-4c3f-9b7e-3f3f0b0c1d2e';
const SIGNED_IN = new CustomerKeyAuthentication(TEST_PRIVATE_KEY, 'internal-user-42');

@Controller()
class LinksController {
  constructor(private readonly visitorCookies: EsalesVisitorCookiesService) {}

  /** A magic link: signs the visitor in and redirects to the product, tracked. */
  @Get('magic/:productKey')
  @Redirect()
  @TrackClick({ productKey: 'productKey' })
  magic(@Param('productKey') productKey: string, @Res({ passthrough: true }) response: unknown) {
    this.visitorCookies.signIn(response, 'internal-user-42');
    return { url: `/p/${productKey}` };
  }

  /** A route that starts a session of its own. */
  @Get('own-session/:productKey')
  @Redirect()
  @TrackClick({ productKey: 'productKey' })
  ownSession(
    @Param('productKey') productKey: string,
    @Res({ passthrough: true }) response: unknown,
  ) {
    appendCookie(response, visitorCookie('apptus.sessionKey', APP_SESSION, { secure: false }));
    return { url: `/p/${productKey}` };
  }

  @Get('sign-out')
  signOut(@Req() request: unknown, @Res({ passthrough: true }) response: unknown) {
    return this.visitorCookies.endSession(request, response);
  }

  @Get('products/:productKey/redirect')
  @Redirect()
  @TrackClick({ productKey: 'productKey' })
  redirect(@Param('productKey') productKey: string) {
    return { url: `/p/${productKey}` };
  }
}

/** Express's `res.append` and Fastify's `reply.header` both add a Set-Cookie line. */
function appendCookie(response: unknown, line: string): void {
  const reply = response as {
    append?: (n: string, v: string) => void;
    header: (n: string, v: string) => void;
  };
  if (typeof reply.append === 'function') reply.append('Set-Cookie', line);
  else reply.header('set-cookie', line);
}

async function get(t: TestApp, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(t.url + path, {
    redirect: 'manual',
    headers: { 'user-agent': BROWSER_UA, ...headers },
  });
  await response.arrayBuffer();
  const setCookies = response.headers.getSetCookie();
  await t.service.flush();
  return { status: response.status, setCookies, sent: t.standIn.requests.map((r) => r.body) };
}

const named = (setCookies: string[], name: string) =>
  setCookies.filter((line) => line.startsWith(`${name}=`));
const valueOf = (line: string | undefined) => line?.split(';')[0]?.split('=')[1];

describe.each<Platform>(['express', 'fastify'])('cookies and consent on %s', (platform) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  const start = async (options: Partial<EsalesModuleOptions> = {}) =>
    (t = await testApp({ platform, controllers: [LinksController], options }));

  describe("the app's own cookies win (finding 4)", () => {
    it('a tracked magic link that signs in sends the signed-in visitor, and sets one customer key', async () => {
      const app = await start();
      const { status, setCookies, sent } = await get(app, '/magic/shirt');
      expect(status).toBe(302);
      const customerKeys = named(setCookies, 'apptus.customerKey');
      expect(customerKeys).toHaveLength(1);
      expect(valueOf(customerKeys[0])).toBe(SIGNED_IN.customerKey);
      expect(named(setCookies, 'apptus.sessionKey')).toHaveLength(1);
      expect(sent).toEqual([
        expect.objectContaining({
          customerKey: SIGNED_IN.customerKey,
          token: SIGNED_IN.token,
          productKey: 'shirt',
        }),
      ]);
      expect(app.standIn.requests[0]?.status).toBe(204);
    });

    it('a route that sets its own session cookie keeps it, and the click carries it', async () => {
      const app = await start();
      const { setCookies, sent } = await get(app, '/own-session/shirt');
      const sessions = named(setCookies, 'apptus.sessionKey');
      expect(sessions.map(valueOf)).toEqual([APP_SESSION]);
      expect(sent).toEqual([expect.objectContaining({ sessionKey: APP_SESSION })]);
    });

    it('counts the notification once, not once per preparation', async () => {
      const app = await start();
      await get(app, '/magic/shirt');
      expect(app.service.getStats()).toMatchObject({ enqueued: 1, sent: 1, skipped: 0 });
    });
  });

  describe('cookieSecure (finding 6)', () => {
    it('true: Secure on every cookie, even over plain http', async () => {
      const app = await start({ cookieSecure: true });
      const { setCookies } = await get(app, '/products/shirt/redirect');
      expect(setCookies.length).toBeGreaterThan(0);
      for (const line of setCookies) expect(line).toMatch(/; Secure/);
    });

    it('false: never Secure', async () => {
      const app = await start({ cookieSecure: false });
      const { setCookies } = await get(app, '/products/shirt/redirect', {
        'x-forwarded-proto': 'https',
      });
      for (const line of setCookies) expect(line).not.toMatch(/Secure/);
      expect(app.logs.lines.filter((l) => l.level === 'warn')).toEqual([]);
    });

    it("'auto' behind an untrusted https proxy: no Secure, and one warning that says how to fix it", async () => {
      const app = await start();
      for (let i = 0; i < 3; i++) {
        const { setCookies } = await get(app, '/products/shirt/redirect', {
          'x-forwarded-proto': 'https',
        });
        for (const line of setCookies) expect(line).not.toMatch(/Secure/);
      }
      const warnings = app.logs.lines.filter((l) => l.level === 'warn').map((l) => l.message);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('cookieSecure: true');
    });

    it("'auto' on plain http in development: no Secure, no warning", async () => {
      const app = await start();
      await get(app, '/products/shirt/redirect');
      expect(app.logs.lines.filter((l) => l.level === 'warn')).toEqual([]);
    });
  });

  describe('consent', () => {
    const consent = (request: { headers: Record<string, unknown> }) => {
      const cookie = request.headers['cookie'];
      return typeof cookie === 'string' && cookie.includes('consent=yes');
    };

    it('without consent: no cookie, nothing sent, counted as noConsent; the redirect is untouched', async () => {
      const app = await start({ consent });
      const { status, setCookies, sent } = await get(app, '/products/shirt/redirect');
      expect(status).toBe(302);
      expect(setCookies).toEqual([]);
      expect(sent).toEqual([]);
      expect(app.service.getStats().skippedBy.noConsent).toBe(1);
      expect(app.service.getStats().byKind['non-esales-click'].skippedBy.noConsent).toBe(1);
    });

    it('with consent: tracked as usual', async () => {
      const app = await start({ consent });
      const { sent } = await get(app, '/products/shirt/redirect', {
        cookie: `consent=yes; apptus.sessionKey=${SESSION}; apptus.customerKey=${CUSTOMER}`,
      });
      expect(sent).toEqual([
        expect.objectContaining({ customerKey: CUSTOMER, productKey: 'shirt' }),
      ]);
    });

    it('endSession without consent: sends nothing, hands out no ids, only clears the signed-in cookies', async () => {
      const app = await start({ consent });
      const cookie = `apptus.sessionKey=${SESSION}; apptus.customerKey=${SIGNED_IN.customerKey}; apptus.token=${SIGNED_IN.token}`;
      const { status, setCookies, sent } = await get(app, '/sign-out', { cookie });
      expect(status).toBe(200);
      expect(sent).toEqual([]);
      expect(named(setCookies, 'apptus.sessionKey')).toEqual([]);
      expect(named(setCookies, 'apptus.customerKey').map(valueOf)).toEqual(['']);
      expect(named(setCookies, 'apptus.token').map(valueOf)).toEqual(['']);
      expect(app.service.getStats().byKind.end.skippedBy.noConsent).toBe(1);
    });

    it('endSession with consent: sends end and renews the ids', async () => {
      const app = await start({ consent });
      const cookie = `consent=yes; apptus.sessionKey=${SESSION}; apptus.customerKey=${CUSTOMER}`;
      const { setCookies, sent } = await get(app, '/sign-out', { cookie });
      expect(sent).toEqual([{ market: 'UK', customerKey: CUSTOMER, sessionKey: SESSION }]);
      expect(valueOf(named(setCookies, 'apptus.sessionKey')[0])).not.toBe(SESSION);
    });

    it('a consent check that throws counts as no consent, with a warning, and breaks nothing', async () => {
      const app = await start({
        consent: () => {
          throw new Error('consent store down\u2028FORGED LINE');
        },
      });
      const { status, sent } = await get(app, '/products/shirt/redirect');
      expect(status).toBe(302);
      expect(sent).toEqual([]);
      const warnings = app.logs.lines.filter((l) => l.level === 'warn').map((l) => l.message);
      expect(warnings).toEqual([expect.stringContaining('consent threw')]);
      expect(warnings[0]).not.toMatch(/[\u2028\u2029]/);
    });
  });
});
