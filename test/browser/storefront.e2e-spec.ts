import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CustomerKeyAuthentication } from '../../lib/auth/customer-key-authentication.js';
import { SAMPLE_PRIVATE_KEY } from '../../sample-app/stand-in/embedded-stand-in.js';
import { OutputLines, stopChild, trackChild } from '../support/child-processes.js';

/*
 * The sample's storefront in headless Chromium (Debian's `chromium` package, driven by
 * playwright-core, which never downloads a browser): one visitor clicks product links, a
 * "recommended for you" link (reported through the package's beacon endpoint), adds to the cart,
 * checks out, signs in and out, and the embedded stand-in's log shows what Elevate received.
 *
 * The sample is compiled with tsc into .test-build/storefront-<hash of the sources>/ (not
 * sample-app/dist/, which `npm start` in sample-app.e2e-spec.ts deletes and rewrites) and run as
 * `node …/sample-app/main.js` with the embedded stand-in, as the other spec runs its compiled main.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = process.env['CHROMIUM_PATH']?.trim() || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const BUILD_ROOT = join(ROOT, '.test-build');
const SAMPLE_TSCONFIG = 'sample-app/tsconfig.build.json';
const COMPLETE_MARKER = '.complete';
const STALE_BUILD_MS = 60 * 60 * 1000;
const SCREENSHOT = join(ROOT, 'test-output', 'storefront.png');
/** tsc type-checks and compiles the sample and lib/ (once per change of the sources). */
const SETUP_TIMEOUT_MS = 120_000;
const LISTENING = /Sample app listening on (http:\/\/[\w.:[\]-]+)/;
/** The path the sample gives the package's beacon endpoint (ESALES_BEACON_PATH's default there). */
const BEACON_PATH = '/esales/notify';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX_64 = /^[0-9a-f]{64}$/;
const REDACTED = '[redacted]';
const SHIRT = 'shirt_79709';
const TOTE = 'P_555452-0446_UK';
const MUG = 'mug_1001';

interface ReceivedNotification {
  method: string;
  path: string;
  kind: string | null;
  status: number | null;
  body: Record<string, unknown>;
}

interface ApptusCookies {
  sessionKey: string | undefined;
  customerKey: string | undefined;
  token: string | undefined;
}

/** The sample's Elevate-style ticket of a product in a panel (see sample-app/storefront/pages.ts). */
const ticketOf = (productKey: string, panel: string, rank: number): string =>
  Buffer.from(`;/${productKey};;${panel};${rank};`).toString('base64url');

/** As sample-app.e2e-spec.ts: no ESALES_* variables (the embedded stand-in starts), any port. */
function sampleEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('ESALES_') && name !== 'PORT' && name !== 'HOST') env[name] = value;
  }
  return { ...env, ESALES_CLUSTER_URL: '', ESALES_CLUSTER_ID: '', PORT: '0', NO_COLOR: '1' };
}

async function sourcesHash(): Promise<string> {
  const hash = createHash('sha256');
  const files = ['tsconfig.json', SAMPLE_TSCONFIG, 'package.json'];
  for (const dir of ['lib', 'sample-app']) {
    for (const entry of await readdir(join(ROOT, dir), { recursive: true })) {
      if (entry.endsWith('.ts') && !entry.startsWith('dist')) files.push(join(dir, entry));
    }
  }
  files.sort();
  for (const file of files) hash.update(`${file}\0`).update(await readFile(join(ROOT, file)));
  return hash.digest('hex').slice(0, 16);
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${args.join(' ')} failed (${code}):\n${output}`)),
    );
  });
}

/** The compiled sample's directory, built unless a finished build of these sources exists. */
async function buildSample(): Promise<string> {
  const bundle = join(BUILD_ROOT, `storefront-${await sourcesHash()}`);
  if (existsSync(join(bundle, COMPLETE_MARKER))) return bundle;
  const scratch = `${bundle}.tmp-${process.pid}-${Date.now()}`;
  try {
    await mkdir(BUILD_ROOT, { recursive: true });
    const tsc = ['node_modules/typescript/bin/tsc', '-p', SAMPLE_TSCONFIG, '--outDir', scratch];
    await run(process.execPath, tsc);
    await writeFile(join(scratch, COMPLETE_MARKER), `${new Date().toISOString()}\n`);
    await rm(bundle, { recursive: true, force: true });
    await rename(scratch, bundle);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  // Builds of older sources, left an hour ago or more.
  for (const name of await readdir(BUILD_ROOT)) {
    const dir = join(BUILD_ROOT, name);
    if (!name.startsWith('storefront-') || dir === bundle) continue;
    const info = await stat(dir).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_BUILD_MS) {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return bundle;
}

/** Splits `document.cookie` into the Apptus cookies. */
function apptusCookies(documentCookie: string): ApptusCookies {
  const cookies = new Map(
    documentCookie
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part): [string, string] => {
        const equals = part.indexOf('=');
        return [part.slice(0, equals), decodeURIComponent(part.slice(equals + 1))];
      }),
  );
  return {
    sessionKey: cookies.get('apptus.sessionKey'),
    customerKey: cookies.get('apptus.customerKey'),
    token: cookies.get('apptus.token'),
  };
}

describe('the sample storefront in headless Chromium', () => {
  let sample: ChildProcess | undefined;
  const output = new OutputLines();
  let url = '';
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  /** The visitor's keys from the first click on, until sign-out. */
  let first: ApptusCookies;
  let signedIn: ApptusCookies;
  let afterSignOut: ApptusCookies;
  const timings: string[] = [];

  beforeAll(async () => {
    // Fail, never skip, without the browser: CI installs it (.ci/run).
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM}: the storefront test drives Debian's chromium ` +
          `package (apt-get install -y chromium, as .ci/run does) or CHROMIUM_PATH.`,
      );
    }
    let started = Date.now();
    const bundle = await buildSample();
    timings.push(`build ${Date.now() - started} ms`);

    started = Date.now();
    const child = spawn(
      process.execPath,
      ['--enable-source-maps', join(bundle, 'sample-app', 'main.js')],
      {
        cwd: ROOT,
        env: sampleEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    sample = child;
    trackChild(child);
    const listening = new Promise<string>((resolve) =>
      output.follow(child.stdout, (line) => {
        const match = LISTENING.exec(line);
        if (match?.[1]) resolve(match[1]);
      }),
    );
    output.follow(child.stderr);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) =>
        reject(new Error(`the sample exited (${code}):\n${output.tail()}`)),
      ),
    );
    url = await Promise.race([listening, exited]);
    timings.push(`sample boot ${Date.now() - started} ms`);

    started = Date.now();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const major = browser.version().split('.')[0] ?? '140';
    context = await browser.newContext({
      // A person's desktop Chrome, not "HeadlessChrome": click tracking skips bots.
      userAgent: `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`,
      viewport: { width: 1000, height: 800 },
    });
    page = await context.newPage();
    // Below Jest's timeout, so that a missing element fails with Playwright's own message.
    page.setDefaultTimeout(10_000);
    timings.push(`chromium ${browser.version()} launch ${Date.now() - started} ms`);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    if (sample) {
      await stopChild(sample, 'SIGTERM', 15_000);
      // Everything queued was delivered before the stand-in closed.
      expect(output.tail(5)).toMatch(/Closed the embedded Elevate stand-in .* failed 0/);
    }
    if (timings.length > 0) console.log(`storefront spec: ${timings.join(', ')}`);
  }, 30_000);

  const cookiesInPage = async (): Promise<ApptusCookies> =>
    apptusCookies(String(await page.evaluate('document.cookie')));

  const notifications = async (): Promise<ReceivedNotification[]> =>
    (await (await fetch(`${url}/_esales-stand-in/notifications`)).json()) as ReceivedNotification[];

  /** Polls the stand-in's log until a notification matches and was answered. */
  async function received(
    matches: (n: ReceivedNotification) => boolean,
    timeoutMs = 10_000,
  ): Promise<ReceivedNotification> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await notifications()).find(matches);
      if (found && found.status !== null) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `no matching notification within ${timeoutMs} ms; log:\n` +
            JSON.stringify(await notifications(), null, 1),
        );
      }
      await sleep(50);
    }
  }

  /** Clicks a product card of a panel on the product list and waits for the product page. */
  async function clickProduct(panel: string, productKey: string): Promise<void> {
    await page.goto(`${url}/`);
    await Promise.all([
      page.waitForURL((target) => target.pathname === `/products/${productKey}`),
      page.click(`[data-panel="${panel}"] a[data-product="${productKey}"]`),
    ]);
  }

  it('gives a first visit through a product link the Apptus cookies, readable by the page', async () => {
    await page.goto(`${url}/`);
    expect(await page.title()).toBe('Products · nestjs-esales sample shop');
    expect(await cookiesInPage()).toEqual({
      sessionKey: undefined,
      customerKey: undefined,
      token: undefined,
    });

    await clickProduct('all-products', SHIRT);
    expect(await page.textContent('h1')).toBe('Oxford shirt');
    first = await cookiesInPage();
    expect(first.sessionKey).toMatch(UUID);
    expect(first.customerKey).toMatch(UUID);
    expect(first.token).toBeUndefined();
    // Not HttpOnly, so that Elevate's browser library can read them too.
    const apptus = (await context.cookies(url)).filter((c) => c.name.startsWith('apptus.'));
    expect(apptus.map(({ name, httpOnly }) => ({ name, httpOnly }))).toEqual(
      expect.arrayContaining([
        { name: 'apptus.sessionKey', httpOnly: false },
        { name: 'apptus.customerKey', httpOnly: false },
      ]),
    );

    const click = await received((n) => n.body['sessionKey'] === first.sessionKey);
    expect(click).toMatchObject({
      kind: 'non-esales-click',
      status: 204,
      body: {
        market: 'UK',
        sessionKey: first.sessionKey,
        customerKey: first.customerKey,
        productKey: SHIRT,
        variantKey: null,
      },
    });
  });

  it('reuses the same keys for a second product link (a top seller, with its ticket)', async () => {
    await clickProduct('top-sellers', MUG);
    expect(await cookiesInPage()).toEqual(first);
    const ticket = ticketOf(MUG, 'panel-top', 2);
    const click = await received((n) => n.kind === 'click' && n.body['ticket'] === ticket);
    expect(click).toMatchObject({
      path: '/api/v1/notifications/click',
      status: 204,
      body: { market: 'UK', sessionKey: first.sessionKey, customerKey: first.customerKey, ticket },
    });
  });

  it('sends a recommended click through the beacon and the add-to-cart through the cart route, for the same visitor', async () => {
    await page.goto(`${url}/`);
    await mkdir(join(ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Beacon-dependent down to "End of the beacon-dependent part": the sample turns the beacon
    // endpoint on at /esales/notify (ESALES_BEACON_PATH) only when lib/ reads that variable.
    const beaconPath = await page.getAttribute('body', 'data-beacon-path');
    if (beaconPath !== BEACON_PATH) {
      throw new Error(
        `the storefront has no beacon endpoint (data-beacon-path="${beaconPath}"): lib/ does not ` +
          `read ESALES_BEACON_PATH yet, so the sample left the beacon off`,
      );
    }
    const ticket = ticketOf(TOTE, 'panel-recommended', 2);
    const link = `[data-panel="recommended"] a[data-product="${TOTE}"]`;
    expect(await page.getAttribute(link, 'data-ticket')).toBe(ticket);
    const [beacon] = await Promise.all([
      page.waitForRequest((r) => new URL(r.url()).pathname === BEACON_PATH),
      page.waitForURL((target) => target.pathname === `/products/${TOTE}`),
      page.click(link),
    ]);
    expect(beacon.method()).toBe('POST');
    expect(JSON.parse(beacon.postData() ?? 'null')).toEqual({ kind: 'click', ticket });
    // Chromium reports no response for a beacon the page navigated away from; the stand-in's log
    // shows that it was taken.
    const click = await received((n) => n.kind === 'click' && n.body['ticket'] === ticket);
    expect(click).toMatchObject({
      status: 204,
      body: { market: 'UK', sessionKey: first.sessionKey, customerKey: first.customerKey, ticket },
    });
    // End of the beacon-dependent part.

    // The product page knows the panel's ticket; "add to cart" posts it to the tracked cart route.
    const [added] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/cart/items'),
      page.click('form[data-add-to-cart] button[type="submit"]'),
    ]);
    expect(added.status()).toBe(201);
    await page.waitForSelector('form[data-add-to-cart] [data-status].ok');
    expect(await page.textContent('[data-cart-count]')).toBe('1');
    const cart = await received((n) => n.kind === 'adding-to-cart' && n.body['ticket'] === ticket);
    expect(cart).toMatchObject({
      path: '/api/v1/notifications/adding-to-cart',
      status: 204,
      body: { market: 'UK', sessionKey: first.sessionKey, customerKey: first.customerKey, ticket },
    });
    // Once each: the product page itself is not tracked, and the beacon's click was not re-sent.
    const withTicket = (await notifications()).filter((n) => n.body['ticket'] === ticket);
    expect(withTicket.map((n) => n.kind)).toEqual(['click', 'adding-to-cart']);
  });

  it('checks out the cart: a signed payment for the visitor', async () => {
    await page.goto(`${url}/cart`);
    await page.click('[data-checkout]');
    await page.waitForSelector('[data-cart] [data-status].ok');
    const orderId = await page.getAttribute('[data-cart]', 'data-order-id');
    expect(orderId).toMatch(/^o-[0-9a-f]{8}$/);
    expect(await page.textContent('[data-cart] [data-status]')).toBe(
      `Order ${orderId} placed: £18.00.`,
    );
    const payment = await received((n) => n.kind === 'payment');
    expect(payment).toMatchObject({
      path: `/api/v1/notifications/payment?paymentToken=${REDACTED}`,
      status: 204,
      body: {
        market: 'UK',
        sessionKey: first.sessionKey,
        customerKey: first.customerKey,
        lines: [{ productKey: TOTE, variantKey: null, quantity: 1, sellingPrice: 18 }],
      },
    });
  });

  it('signs in: the SHA-256 customer key with a token that verifies, redacted in the log', async () => {
    const visitorId = 'b7e3c1f0-5a2d-4e8b-9c61-0d4f2a7e9b35';
    await page.goto(`${url}/`);
    await page.fill('input[name="visitorId"]', visitorId);
    await Promise.all([page.waitForSelector('[data-signed-in]'), page.click('[data-sign-in]')]);
    expect(new URL(page.url()).pathname).toBe('/');

    signedIn = await cookiesInPage();
    const customerKey = createHash('sha256').update(visitorId, 'utf8').digest('hex');
    expect(signedIn.sessionKey).toBe(first.sessionKey);
    expect(signedIn.customerKey).toBe(customerKey);
    expect(signedIn.token).toMatch(HEX_64);
    // The token is the HMAC-SHA256 of the customer key with the sample's private key.
    expect(signedIn.token).toBe(
      createHmac('sha256', SAMPLE_PRIVATE_KEY).update(customerKey).digest('hex'),
    );
    expect(
      CustomerKeyAuthentication.verify(SAMPLE_PRIVATE_KEY, customerKey, signedIn.token ?? ''),
    ).toBe(true);

    await clickProduct('all-products', MUG);
    const click = await received(
      (n) => n.kind === 'non-esales-click' && n.body['customerKey'] === customerKey,
    );
    // 204: the stand-in verified the token with the private key, as Elevate would.
    expect(click).toMatchObject({
      status: 204,
      body: { sessionKey: first.sessionKey, customerKey, token: REDACTED, productKey: MUG },
    });
    expect(JSON.stringify(await notifications())).not.toContain(signedIn.token);
  });

  it('signs out: the session ends, and the next click has fresh keys', async () => {
    await page.goto(`${url}/`);
    await Promise.all([page.waitForSelector('[data-sign-in]'), page.click('[data-sign-out]')]);
    const end = await received((n) => n.kind === 'end');
    expect(end).toMatchObject({
      path: '/api/v1/notifications/end',
      status: 204,
      body: {
        market: 'UK',
        sessionKey: first.sessionKey,
        customerKey: signedIn.customerKey,
        token: REDACTED,
      },
    });

    afterSignOut = await cookiesInPage();
    expect(afterSignOut.sessionKey).toMatch(UUID);
    expect(afterSignOut.sessionKey).not.toBe(first.sessionKey);
    expect(afterSignOut.customerKey).toMatch(UUID);
    expect(afterSignOut.customerKey).not.toBe(first.customerKey);
    expect(afterSignOut.token).toBeUndefined();

    await clickProduct('all-products', TOTE);
    expect(await cookiesInPage()).toEqual(afterSignOut);
    const click = await received((n) => n.body['sessionKey'] === afterSignOut.sessionKey);
    expect(click).toMatchObject({
      kind: 'non-esales-click',
      status: 204,
      body: { customerKey: afterSignOut.customerKey, productKey: TOTE },
    });
    expect(click.body).not.toHaveProperty('token');
  });

  it("shows every notification in the stand-in's log with the expected kind and keys", async () => {
    const anonymous = { sessionKey: first.sessionKey, customerKey: first.customerKey };
    const member = { sessionKey: first.sessionKey, customerKey: signedIn.customerKey };
    const next = { sessionKey: afterSignOut.sessionKey, customerKey: afterSignOut.customerKey };
    const log = (await notifications()).map(({ kind, status, body }) => ({
      kind,
      status,
      sessionKey: body['sessionKey'],
      customerKey: body['customerKey'],
      token: body['token'],
    }));
    expect(log).toEqual([
      { kind: 'non-esales-click', status: 204, ...anonymous, token: undefined },
      { kind: 'click', status: 204, ...anonymous, token: undefined },
      { kind: 'click', status: 204, ...anonymous, token: undefined },
      { kind: 'adding-to-cart', status: 204, ...anonymous, token: undefined },
      { kind: 'payment', status: 204, ...anonymous, token: undefined },
      { kind: 'non-esales-click', status: 204, ...member, token: REDACTED },
      { kind: 'end', status: 204, ...member, token: REDACTED },
      { kind: 'non-esales-click', status: 204, ...next, token: undefined },
    ]);
  });
});
