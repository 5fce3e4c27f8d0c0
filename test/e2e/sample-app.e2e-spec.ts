import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  esalesOptionsFromEnv,
  ESALES_ENV_VARIABLES,
} from '../../lib/config/esales-options-from-env.js';
import { EsalesConfigError } from '../../lib/errors/esales-config.error.js';
import type { EsalesStats } from '../../lib/delivery/esales-stats.interface.js';
import { SAMPLE_PRIVATE_KEY } from '../../sample-app/stand-in/embedded-stand-in.js';
import { RedisServer } from '../support/redis-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The entry `npm start` (`nest start`) compiles and runs. */
const COMPILED_MAIN = 'sample-app/dist/sample-app/main.js';
/** `nest start` type-checks and compiles the sample and lib/ first: seconds, not milliseconds. */
const BOOT_TIMEOUT_MS = 90_000;
/** Click tracking skips bots, and fetch's default user agent (`node`) is one. */
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0';
const LISTENING = /Sample app listening on (http:\/\/[\w.:[\]-]+)/;
const STAND_IN_STARTED = /started an embedded Elevate stand-in at (http:\/\/[\w.:[\]-]+)/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX_64 = /^[0-9a-f]{64}$/;
/** What the stand-in's log shows instead of a token. */
const REDACTED = '[redacted]';

interface ReceivedNotification {
  receivedAt: string;
  method: string;
  path: string;
  kind: string | null;
  status: number | null;
  body: Record<string, unknown>;
}

/**
 * The environment of a sample started by the test: no ESALES_* variables, so the embedded stand-in
 * starts. The cluster variables are set blank rather than removed because variables present in the
 * environment win over sample-app/.env, and a developer's .env must not send test clicks to a real
 * cluster; blank counts as unset.
 */
function sampleEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('ESALES_') && name !== 'PORT' && name !== 'HOST') env[name] = value;
  }
  return {
    ...env,
    ESALES_CLUSTER_URL: '',
    ESALES_CLUSTER_ID: '',
    PORT: '0',
    NO_COLOR: '1',
    ...extra,
  };
}

/** A sample app in its own process group, so stopping it reaches npm, the Nest CLI and the app. */
class SampleProcess {
  private output = '';
  private exited = false;
  private readonly exit: Promise<void>;
  private readonly killOnExit = () => this.signal('SIGKILL');

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exit = new Promise((resolve) =>
      child.once('exit', () => {
        this.exited = true;
        resolve();
      }),
    );
    // Should the test process die first, the detached group must not outlive it.
    process.once('exit', this.killOnExit);
  }

  static start(command: string, args: string[], env: NodeJS.ProcessEnv): SampleProcess {
    return new SampleProcess(
      spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
  }

  get log(): string {
    return this.output;
  }

  /** Resolves with the first match of `pattern` in the output; rejects on exit or timeout. */
  async waitFor(pattern: RegExp, timeoutMs = BOOT_TIMEOUT_MS): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.output);
      if (match) return match;
      if (this.exited || Date.now() > deadline) {
        throw new Error(
          `${this.exited ? 'the sample exited' : `no ${pattern} within ${timeoutMs} ms`}; ` +
            `output:\n${this.output}`,
        );
      }
      await sleep(50);
    }
  }

  /** SIGTERM to the whole group, as Ctrl+C would; SIGKILL if it has not gone within 15 s. */
  async stop(): Promise<void> {
    process.off('exit', this.killOnExit);
    this.signal('SIGTERM');
    if (!(await this.groupGone(15_000))) {
      this.signal('SIGKILL');
      await this.groupGone(5_000);
    }
    await this.exit;
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
  }

  /** Whether any process of the group is left. */
  isRunning(): boolean {
    try {
      process.kill(-this.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  private get pid(): number {
    if (this.child.pid === undefined) throw new Error('the sample did not start');
    return this.child.pid;
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // Already gone.
    }
  }

  private async groupGone(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.isRunning()) {
      if (Date.now() > deadline) return false;
      await sleep(50);
    }
    return true;
  }
}

/** `Set-Cookie` headers by cookie name. */
function setCookies(response: Response): Map<string, string> {
  return new Map(
    response.headers.getSetCookie().map((header) => [header.split('=', 1)[0] ?? '', header]),
  );
}

/** The value of a `Set-Cookie` header. */
const valueOf = (header: string | undefined): string | undefined =>
  header?.split(';', 1)[0]?.split('=').slice(1).join('=');

/** One sample of a Prometheus text exposition: `name{label="value",…} value`. */
interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comment lines left out). */
function prometheusSamples(text: string): PrometheusSample[] {
  const samples: PrometheusSample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, label = '', value = ''] of (match[2] ?? '').matchAll(
      /(\w+)="((?:[^"\\]|\\.)*)"/g,
    )) {
      labels[label] = value;
    }
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

describe('the sample app, started as `npm start` starts it', () => {
  let sample: SampleProcess | undefined;
  let url: string;
  let standInUrl: string;

  beforeAll(async () => {
    sample = SampleProcess.start('npm', ['start'], sampleEnv());
    [, standInUrl = ''] = await sample.waitFor(STAND_IN_STARTED);
    [, url = ''] = await sample.waitFor(LISTENING);
  }, BOOT_TIMEOUT_MS);

  afterAll(async () => {
    await sample?.stop();
  }, 30_000);

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { redirect: 'manual', headers: { 'user-agent': BROWSER, ...headers } });

  const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'user-agent': BROWSER, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body ?? {}),
    });

  /** The sender's counters; a notification is skipped (or queued) before its route answers. */
  const stats = async (): Promise<EsalesStats> =>
    (await (await get('/_esales-stand-in/stats')).json()) as EsalesStats;

  /** A visitor's Apptus cookies, as a browser that already visited sends them. */
  const visitor = () => {
    const sessionKey = randomUUID();
    const customerKey = randomUUID();
    const cookie = `apptus.sessionKey=${sessionKey}; apptus.customerKey=${customerKey}`;
    return { sessionKey, customerKey, cookie };
  };

  /**
   * A GET with the `Host` header set as given (fetch does not let a caller choose it): what a browser
   * sends for a page whose name was rebound to 127.0.0.1.
   */
  const getWithHost = (path: string, host: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const { hostname, port } = new URL(url);
      const req = httpRequest({ hostname, port, path, headers: { host } }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        response.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });

  /** The stand-in's whole log, as the text it answers. */
  const logText = async (): Promise<string> => {
    const response = await get('/_esales-stand-in/notifications');
    expect(response.status).toBe(200);
    return response.text();
  };

  /** Polls the stand-in's log until a notification matches (delivery is asynchronous). */
  async function received(
    matches: (n: ReceivedNotification) => boolean,
    timeoutMs = 10_000,
  ): Promise<ReceivedNotification> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = await get('/_esales-stand-in/notifications');
      expect(response.status).toBe(200);
      const found = ((await response.json()) as ReceivedNotification[]).find(matches);
      if (found && found.status !== null) return found;
      if (Date.now() > deadline) throw new Error(`no matching notification within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  it('listens on loopback and sends to an embedded stand-in on loopback', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(standInUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('redirects a known product, gives the visitor cookies and sends a non-eSales click', async () => {
    const response = await get('/products/shirt_79709/redirect?variant=shirt_79709_blue_m');

    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(
      '/products/shirt_79709?variant=shirt_79709_blue_m',
    );
    const cookies = setCookies(response);
    const sessionKey = valueOf(cookies.get('apptus.sessionKey'));
    const customerKey = valueOf(cookies.get('apptus.customerKey'));
    expect(sessionKey).toMatch(UUID);
    expect(customerKey).toMatch(UUID);

    const notification = await received((n) => n.body['customerKey'] === customerKey);
    expect(notification).toMatchObject({
      method: 'POST',
      path: '/api/v1/notifications/non-esales-click',
      kind: 'non-esales-click',
      status: 204,
      body: {
        market: 'UK',
        customerKey,
        sessionKey,
        productKey: 'shirt_79709',
        variantKey: 'shirt_79709_blue_m',
      },
    });
    expect(notification.body).not.toHaveProperty('token');
  });

  it('sends a click with the ticket when the redirect carries one', async () => {
    const { sessionKey, customerKey, cookie } = visitor();
    const ticket = 'Oy9zaGlydF83OTcwOTs7cGFuZWwtdG9wOzE7';
    const response = await get(
      `/products/shirt_79709/redirect?ticket=${encodeURIComponent(ticket)}&variant=shirt_79709_white_l`,
      { cookie },
    );

    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(
      '/products/shirt_79709?variant=shirt_79709_white_l',
    );
    const notification = await received((n) => n.body['customerKey'] === customerKey);
    expect(notification).toMatchObject({
      path: '/api/v1/notifications/click',
      kind: 'click',
      status: 204,
      body: { market: 'UK', customerKey, sessionKey, ticket },
    });
    expect(notification.body['id']).toMatch(UUID);
    expect(notification.body).not.toHaveProperty('productKey');
  });

  it('answers 404 for an unknown product, sets no cookies and sends nothing', async () => {
    const unknown = await get('/products/no-such-product/redirect');
    expect(unknown.status).toBe(404);
    expect(setCookies(unknown).size).toBe(0);

    // Clicks are delivered in the order they were queued: once a later click has arrived, an
    // earlier one would have too.
    const later = await get('/products/mug_1001/redirect');
    expect(later.status).toBe(302);
    const customerKey = valueOf(setCookies(later).get('apptus.customerKey'));
    await received((n) => n.body['customerKey'] === customerKey);
    const all = (await (
      await get('/_esales-stand-in/notifications')
    ).json()) as ReceivedNotification[];
    expect(all.filter((n) => n.body['productKey'] === 'no-such-product')).toEqual([]);
  });

  it('signs a visitor in, and Elevate accepts the signed-in clicks', async () => {
    const visitorId = '3f1c9a52-7d0e-4b8a-9a51-2c6f0e8d4b17';
    const signIn = await post('/sign-in', { visitorId });

    expect(signIn.status).toBe(200);
    const expectedKey = createHash('sha256').update(visitorId, 'utf8').digest('hex');
    expect(await signIn.json()).toEqual({ customerKey: expectedKey });
    const cookies = setCookies(signIn);
    const customerKey = valueOf(cookies.get('apptus.customerKey'));
    const token = valueOf(cookies.get('apptus.token'));
    expect(customerKey).toBe(expectedKey);
    expect(customerKey).toMatch(HEX_64);
    expect(token).toMatch(HEX_64);

    const sessionKey = 'b106299c-eac0-4f6f-96d2-93e57c255784';
    const click = await get('/products/P_555452-0446_UK/redirect', {
      cookie: `apptus.sessionKey=${sessionKey}; apptus.customerKey=${customerKey}; apptus.token=${token}`,
    });
    expect(click.status).toBe(302);
    expect(setCookies(click).size).toBe(0);

    const notification = await received((n) => n.body['customerKey'] === customerKey);
    // 204: the stand-in verified the token with its private key, as Elevate would. Its log shows
    // that a token came, not the token.
    expect(notification).toMatchObject({
      status: 204,
      body: {
        customerKey,
        sessionKey,
        token: REDACTED,
        productKey: 'P_555452-0446_UK',
        variantKey: null,
      },
    });
    expect(await logText()).not.toContain(token);
  });

  it('tracks a cart item: adding-to-cart with a ticket, non-esales-adding-to-cart without', async () => {
    const { sessionKey, customerKey, cookie } = visitor();
    const ticket = 'Oy9tdWdfMTAwMTs7cGFuZWwtY2FydDsyOw';
    const fromPanel = await post(
      '/cart/items',
      { productKey: 'mug_1001', variantKey: 'mug_1001_red', ticket },
      { cookie },
    );
    expect(fromPanel.status).toBe(201);
    expect(await fromPanel.json()).toEqual({
      productKey: 'mug_1001',
      variantKey: 'mug_1001_red',
      name: 'Enamel mug',
      quantity: 1,
    });
    const fromElsewhere = await post(
      '/cart/items',
      { productKey: 'shirt_79709', variantKey: 'shirt_79709_blue_m', quantity: 2 },
      { cookie },
    );
    expect(fromElsewhere.status).toBe(201);
    expect(await fromElsewhere.json()).toMatchObject({ productKey: 'shirt_79709', quantity: 2 });

    const withTicket = await received(
      (n) => n.body['customerKey'] === customerKey && n.kind === 'adding-to-cart',
    );
    expect(withTicket).toMatchObject({
      path: '/api/v1/notifications/adding-to-cart',
      status: 204,
      body: { market: 'UK', customerKey, sessionKey, ticket },
    });
    expect(withTicket.body).not.toHaveProperty('productKey');
    const withoutTicket = await received(
      (n) => n.body['customerKey'] === customerKey && n.kind === 'non-esales-adding-to-cart',
    );
    expect(withoutTicket).toMatchObject({
      path: '/api/v1/notifications/non-esales-adding-to-cart',
      status: 204,
      body: {
        market: 'UK',
        customerKey,
        sessionKey,
        productKey: 'shirt_79709',
        variantKey: 'shirt_79709_blue_m',
      },
    });
  });

  it('tracks nothing for a cart item the route refuses (400, 404)', async () => {
    const { customerKey, cookie } = visitor();
    // A ticket, but no product: the body fails validation, and the interceptor only tracks < 400.
    const invalid = await post(
      '/cart/items',
      { ticket: 'Oy9ub3RoaW5nOw', quantity: 0 },
      { cookie },
    );
    expect(invalid.status).toBe(400);
    const unknown = await post('/cart/items', { productKey: 'no-such-product' }, { cookie });
    expect(unknown.status).toBe(404);

    // Notifications are delivered in the order they were queued: once a later one has arrived,
    // an earlier one would have too.
    const later = await post('/cart/items', { productKey: 'P_555452-0446_UK' }, { cookie });
    expect(later.status).toBe(201);
    await received((n) => n.body['customerKey'] === customerKey);
    const all = (await (
      await get('/_esales-stand-in/notifications')
    ).json()) as ReceivedNotification[];
    expect(all.filter((n) => n.body['customerKey'] === customerKey)).toEqual([
      expect.objectContaining({ kind: 'non-esales-adding-to-cart' }),
    ]);
  });

  it('sends one signed payment per order id, however often the checkout is posted', async () => {
    const { sessionKey, customerKey, cookie } = visitor();
    const order = {
      orderId: 'o-1001',
      lines: [
        {
          productKey: 'shirt_79709',
          variantKey: 'shirt_79709_white_m',
          quantity: 2,
          sellingPrice: 39.5,
        },
        { productKey: 'mug_1001', quantity: 1, sellingPrice: 12, cost: 4.25 },
      ],
    };
    const before = (await stats()).byKind.payment;

    const first = await post('/checkout', order, { cookie });
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ orderId: 'o-1001', total: 91 });
    const again = await post('/checkout', order, { cookie });
    expect(again.status).toBe(201);

    // Skipped before the second checkout answered: never queued, never sent.
    const after = (await stats()).byKind.payment;
    expect(after.enqueued - before.enqueued).toBe(1);
    expect(after.skippedBy.duplicate - before.skippedBy.duplicate).toBe(1);

    const payment = await received((n) => n.body['customerKey'] === customerKey);
    expect(payment).toMatchObject({ method: 'POST', kind: 'payment', status: 204 });
    // The exact bytes, in Elevate's documented order: no id, no token (anonymous), variantKey null
    // when not given, cost only because the payment is signed.
    const bytes =
      `{"market":"UK","customerKey":"${customerKey}","sessionKey":"${sessionKey}","lines":[` +
      '{"productKey":"shirt_79709","variantKey":"shirt_79709_white_m","quantity":2,"sellingPrice":39.5},' +
      '{"productKey":"mug_1001","variantKey":null,"quantity":1,"sellingPrice":12,"cost":4.25}]}';
    expect(JSON.stringify(payment.body)).toBe(bytes);
    // The sample's market has a private key, so the payment is signed: the stand-in answered 204
    // only because the paymentToken matched the HMAC of the bytes it received. The log redacts it.
    expect(payment.path).toBe(`/api/v1/notifications/payment?paymentToken=${REDACTED}`);
    const paymentToken = createHmac('sha256', SAMPLE_PRIVATE_KEY).update(bytes).digest('hex');
    expect(await logText()).not.toContain(paymentToken);

    const all = (await (
      await get('/_esales-stand-in/notifications')
    ).json()) as ReceivedNotification[];
    expect(
      all.filter((n) => n.kind === 'payment' && n.body['customerKey'] === customerKey),
    ).toHaveLength(1);
  });

  it('sends no payment for a refused checkout or a visitor without Apptus cookies', async () => {
    const before = (await stats()).byKind.payment;
    const line = { productKey: 'mug_1001', quantity: 1, sellingPrice: 12 };

    const noLines = await post(
      '/checkout',
      { orderId: 'o-1002', lines: [] },
      { cookie: visitor().cookie },
    );
    expect(noLines.status).toBe(400);
    const badOrderId = await post(
      '/checkout',
      { orderId: '', lines: [line] },
      { cookie: visitor().cookie },
    );
    expect(badOrderId.status).toBe(400);
    const anonymous = await post('/checkout', { orderId: 'o-1003', lines: [line] });
    expect(anonymous.status).toBe(201);
    expect(await anonymous.json()).toEqual({ orderId: 'o-1003', total: 12 });

    const after = (await stats()).byKind.payment;
    expect(after.enqueued).toBe(before.enqueued);
    expect(after.skipped).toBe(before.skipped);
  });

  it('refuses a sign-in without a visitor id', async () => {
    const response = await post('/sign-in', { visitorId: '' });
    expect(response.status).toBe(400);
    expect(setCookies(response).size).toBe(0);
  });

  it('signs a visitor out by ending the Elevate session and renewing the cookies', async () => {
    const visitorId = '9b2d4e61-0c3a-4f7e-8d15-6a7b8c9d0e1f';
    const signedIn = setCookies(await post('/sign-in', { visitorId }));
    const customerKey = valueOf(signedIn.get('apptus.customerKey'));
    const token = valueOf(signedIn.get('apptus.token'));
    const sessionKey = randomUUID();

    const response = await post('/sign-out', undefined, {
      cookie: `apptus.sessionKey=${sessionKey}; apptus.customerKey=${customerKey}; apptus.token=${token}`,
    });

    expect(response.status).toBe(204);
    const cookies = setCookies(response);
    expect([...cookies.keys()].sort()).toEqual([
      'apptus.customerKey',
      'apptus.sessionKey',
      'apptus.token',
    ]);
    // A new session of a new anonymous visitor; the signed-in token is gone.
    const newSessionKey = valueOf(cookies.get('apptus.sessionKey'));
    const newCustomerKey = valueOf(cookies.get('apptus.customerKey'));
    expect(newSessionKey).toMatch(UUID);
    expect(newSessionKey).not.toBe(sessionKey);
    expect(newCustomerKey).toMatch(UUID);
    expect(newCustomerKey).not.toBe(customerKey);
    expect(valueOf(cookies.get('apptus.token'))).toBe('');
    expect(cookies.get('apptus.token')).toMatch(/; Max-Age=0;/);

    // The old session ended, for the signed-in visitor; 204: the stand-in verified the token.
    const end = await received((n) => n.kind === 'end' && n.body['sessionKey'] === sessionKey);
    expect(end).toMatchObject({
      path: '/api/v1/notifications/end',
      status: 204,
      body: { market: 'UK', customerKey, sessionKey, token: REDACTED },
    });
    expect(end.body).not.toHaveProperty('id');
    expect(await logText()).not.toContain(token);
  });

  it('signs out a visitor without a session: nothing to end, fresh cookies all the same', async () => {
    const before = (await stats()).byKind.end;
    const response = await post('/sign-out');

    expect(response.status).toBe(204);
    const cookies = setCookies(response);
    expect(valueOf(cookies.get('apptus.sessionKey'))).toMatch(UUID);
    expect(valueOf(cookies.get('apptus.customerKey'))).toMatch(UUID);
    expect(cookies.get('apptus.token')).toMatch(/; Max-Age=0;/);
    const after = (await stats()).byKind.end;
    expect(after.enqueued).toBe(before.enqueued);
    expect(after.skipped).toBe(before.skipped);
  });

  it('shows a signed-in payment without its token or paymentToken', async () => {
    const visitorId = '5e0a7c1d-2b3f-4a6e-9c8d-7f1e2d3c4b5a';
    const signedIn = setCookies(await post('/sign-in', { visitorId }));
    const customerKey = valueOf(signedIn.get('apptus.customerKey')) ?? '';
    const token = valueOf(signedIn.get('apptus.token')) ?? '';
    expect(token).toMatch(HEX_64);
    const sessionKey = randomUUID();
    const cookie = `apptus.sessionKey=${sessionKey}; apptus.customerKey=${customerKey}; apptus.token=${token}`;
    const order = {
      orderId: 'o-2001',
      lines: [{ productKey: 'mug_1001', quantity: 1, sellingPrice: 12, cost: 4.25 }],
    };
    expect((await post('/checkout', order, { cookie })).status).toBe(201);

    // 204: the token and the paymentToken both verified; the log shows neither.
    const payment = await received(
      (n) => n.kind === 'payment' && n.body['customerKey'] === customerKey,
    );
    expect(payment).toMatchObject({
      method: 'POST',
      path: `/api/v1/notifications/payment?paymentToken=${REDACTED}`,
      status: 204,
      body: {
        market: 'UK',
        customerKey,
        sessionKey,
        token: REDACTED,
        lines: [{ productKey: 'mug_1001' }],
      },
    });
    // What was signed: the body with the real token back in (the package sends JSON.stringify bytes).
    const bytes = JSON.stringify({ ...payment.body, token });
    const paymentToken = createHmac('sha256', SAMPLE_PRIVATE_KEY).update(bytes).digest('hex');
    const log = await logText();
    expect(log).not.toContain(token);
    expect(log).not.toContain(paymentToken);
    expect(log).not.toMatch(/paymentToken=(?!\[redacted\])/);
  });

  it('answers the stand-in routes only for a loopback Host (DNS rebinding)', async () => {
    const { port } = new URL(url);
    for (const path of ['/_esales-stand-in/notifications', '/_esales-stand-in/stats']) {
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) {
        const response = await getWithHost(path, host);
        expect({ host, status: response.status }).toEqual({ host, status: 200 });
      }
      for (const host of [
        'evil.example',
        `evil.example:${port}`,
        `localhost.evil.example:${port}`,
        `127.0.0.1.nip.io:${port}`,
        `127.0.0.2:${port}`,
        `0.0.0.0:${port}`,
      ]) {
        const response = await getWithHost(path, host);
        expect({ host, status: response.status }).toEqual({ host, status: 403 });
        expect(response.text).toContain('127.0.0.1, localhost or [::1]');
        expect(response.text).not.toContain('customerKey');
      }
    }
    // The other routes do not care about the Host.
    expect((await getWithHost('/products', 'evil.example')).status).toBe(200);
  });

  it('with a cluster configured, starts no stand-in and has no stand-in route', async () => {
    // The entry `npm start` just compiled, run directly: a second `nest start` would recompile.
    const withCluster = SampleProcess.start(
      process.execPath,
      ['--enable-source-maps', COMPILED_MAIN],
      sampleEnv({ ESALES_CLUSTER_ID: 'w1234ABCD', ESALES_DEFAULT_MARKET: 'UK' }),
    );
    try {
      const [, otherUrl] = await withCluster.waitFor(LISTENING, 20_000);
      expect(withCluster.log).not.toMatch(STAND_IN_STARTED);
      const response = await fetch(`${otherUrl}/_esales-stand-in/notifications`);
      expect(response.status).toBe(404);
    } finally {
      await withCluster.stop();
    }
    expect(withCluster.isRunning()).toBe(false);
  }, 30_000);

  it('runs on BullMQ with ESALES_DELIVERY=bullmq and a local Redis, as the README shows', async () => {
    const redis = await RedisServer.start();
    const onBullmq = SampleProcess.start(
      process.execPath,
      ['--enable-source-maps', COMPILED_MAIN],
      sampleEnv({ ESALES_DELIVERY: 'bullmq', ESALES_REDIS_URL: `${redis.url}/0` }),
    );
    try {
      const [, otherUrl = ''] = await onBullmq.waitFor(LISTENING, 20_000);
      const statsOf = async (): Promise<EsalesStats> =>
        (await (await fetch(`${otherUrl}/_esales-stand-in/stats`)).json()) as EsalesStats;
      // The producer connects at boot without holding it up: wait until Redis takes notifications.
      for (let tries = 0; (await statsOf()).backend['redis'] !== 'up'; tries++) {
        if (tries > 200) throw new Error('the sample never connected to Redis');
        await sleep(25);
      }
      const response = await fetch(`${otherUrl}/products/shirt_79709/redirect`, {
        redirect: 'manual',
        headers: { 'user-agent': BROWSER },
      });
      expect(response.status).toBe(302);
      for (let tries = 0; (await statsOf()).sent < 1; tries++) {
        if (tries > 400) throw new Error('the click was never delivered');
        await sleep(25);
      }
      expect((await statsOf()).backend).toMatchObject({ name: 'bullmq', toRedis: 1, toMemory: 0 });
    } finally {
      await onBullmq.stop();
      await redis.stop();
    }
    expect(onBullmq.isRunning()).toBe(false);
  }, 40_000);

  it('serves no /metrics without ESALES_METRICS=true', async () => {
    expect((await get('/metrics')).status).toBe(404);
  });

  it("serves the package's OpenTelemetry metrics at GET /metrics with ESALES_METRICS=true", async () => {
    const withMetrics = SampleProcess.start(
      process.execPath,
      ['--enable-source-maps', COMPILED_MAIN],
      sampleEnv({ ESALES_METRICS: 'true' }),
    );
    try {
      const [, ownStandIn] = await withMetrics.waitFor(STAND_IN_STARTED, 20_000);
      const [, otherUrl = ''] = await withMetrics.waitFor(LISTENING, 20_000);
      const statsOf = async (): Promise<EsalesStats> =>
        (await (await fetch(`${otherUrl}/_esales-stand-in/stats`)).json()) as EsalesStats;
      const response = await fetch(`${otherUrl}/products/shirt_79709/redirect`, {
        redirect: 'manual',
        headers: { 'user-agent': BROWSER },
      });
      expect(response.status).toBe(302);
      for (let tries = 0; (await statsOf()).sent < 1; tries++) {
        if (tries > 400) throw new Error('the click was never delivered');
        await sleep(25);
      }

      // On the app's own port, not the exporter's 9464.
      const scrape = await fetch(`${otherUrl}/metrics`);
      expect(scrape.status).toBe(200);
      expect(scrape.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await scrape.text();
      // Prometheus names: dots become underscores, counters get `_total`.
      expect(text).toContain('# TYPE esales_notification_enqueued_total counter');
      expect(text).toContain('# TYPE esales_notification_outcomes_total counter');
      expect(text).toContain('# TYPE esales_notification_duration histogram');
      expect(text).toContain('# TYPE esales_queue_size gauge');
      const samples = prometheusSamples(text);
      const scope = { otel_scope_name: 'nestjs-esales' };
      const click = { ...scope, esales_notification_kind: 'non-esales-click', esales_market: 'UK' };
      expect(samples).toContainEqual({
        name: 'esales_notification_enqueued_total',
        labels: expect.objectContaining(click),
        value: 1,
      });
      expect(samples).toContainEqual({
        name: 'esales_notification_outcomes_total',
        labels: expect.objectContaining({ ...click, esales_notification_outcome: 'sent' }),
        value: 1,
      });
      expect(samples).toContainEqual({
        name: 'esales_notification_duration_count',
        labels: expect.objectContaining({ ...click, esales_notification_outcome: 'sent' }),
        value: 1,
      });
      expect(samples).toContainEqual({
        name: 'esales_attempt_duration_count',
        labels: expect.objectContaining({ ...click, esales_attempt_outcome: 'success' }),
        value: 1,
      });
      // The gauges, per cluster: nothing left waiting, breaker closed.
      const cluster = { ...scope, esales_cluster: ownStandIn };
      expect(samples).toContainEqual({
        name: 'esales_queue_size',
        labels: expect.objectContaining(cluster),
        value: 0,
      });
      expect(samples).toContainEqual({
        name: 'esales_breaker_state',
        labels: expect.objectContaining(cluster),
        value: 0,
      });
      expect(samples).toContainEqual({
        name: 'esales_concurrency_limit',
        labels: expect.objectContaining(cluster),
        value: expect.any(Number),
      });
      // No visitor keys or product keys in the labels.
      expect(text).not.toContain('shirt_79709');
    } finally {
      await withMetrics.stop();
    }
    expect(withMetrics.isRunning()).toBe(false);
    expect(withMetrics.log).toMatch(/notifications sent 1, .* failed 0/);
  }, 40_000);

  it('drains and closes on SIGTERM, leaving no process behind', async () => {
    const running = sample;
    if (!running) throw new Error('the sample did not start');
    await running.stop();
    expect(running.isRunning()).toBe(false);
    expect(running.log).toMatch(/Closed the embedded Elevate stand-in after \d+ request\(s\)/);
    expect(running.log).toMatch(/failed 0/);
  }, 30_000);
});

describe('sample-app/.env.example', () => {
  const example = readFileSync(new URL('../../sample-app/.env.example', import.meta.url), 'utf8');
  const documented = [...example.matchAll(/^#? ?(ESALES_[A-Z0-9_]+)=(.*)$/gm)].map(
    ([, name = '', value = '']) => [name, value.trim() || 'x'] as const,
  );

  it('names only variables nestjs-esales reads', () => {
    expect(documented.length).toBeGreaterThan(20);
    let problems: readonly string[] = [];
    try {
      esalesOptionsFromEnv(Object.fromEntries(documented));
    } catch (error) {
      if (!(error instanceof EsalesConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems.filter((p) => /not a variable|no market in/.test(p))).toEqual([]);
  });

  it('documents every variable nestjs-esales reads', () => {
    for (const name of ESALES_ENV_VARIABLES) {
      const pattern = name.replace('<M>', '[A-Z0-9_]+');
      expect(example).toMatch(new RegExp(`^#? ?${pattern}=`, 'm'));
    }
  });
});
