import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Agent, request } from 'undici';
import { ElevateStandIn } from '../../lib/testing/elevate-stand-in.js';

/* The stand-in's own behaviour that tests of apps rely on: its failure messages, capacity, counts. */

const PATH = '/api/v1/notifications/non-esales-click';
const BODY = JSON.stringify({ market: 'UK', customerKey: 'c', sessionKey: 's', productKey: 'p' });

const standIns: ElevateStandIn[] = [];
afterEach(async () => {
  for (const standIn of standIns.splice(0)) await standIn.close();
});
async function start(options: Parameters<typeof ElevateStandIn.start>[0] = {}) {
  const standIn = await ElevateStandIn.start(options);
  standIns.push(standIn);
  return standIn;
}
const post = (standIn: ElevateStandIn) =>
  request(standIn.url + PATH, {
    method: 'POST',
    body: BODY,
    headers: { 'content-type': 'application/json' },
  }).then(async (response) => {
    await response.body.dump();
    return response.statusCode;
  });

describe('ElevateStandIn', () => {
  it('says what waitForRequests waited for, and hints at the bot filter when nothing came', async () => {
    const standIn = await start();
    await expect(standIn.waitForRequests(1, 50)).rejects.toThrow(
      /^stand-in: waited 50 ms for 1 answered request\(s\), received 0\. A tracked click is skipped when the request has no browser User-Agent \(supertest sends none\)/,
    );
  });

  it('names the latest requests it did receive', async () => {
    const standIn = await start();
    expect(await post(standIn)).toBe(204);
    await expect(standIn.waitForRequests(2, 50)).rejects.toThrow(
      `received 1 (latest: POST ${PATH} [non-esales-click] → 204)`,
    );
  });

  it('answers at most `capacity` requests at once and counts what it held', async () => {
    const standIn = await start({ capacity: 2 });
    standIn.respondWith(() => ({ status: 204, delayMs: 50 }));
    const statuses = await Promise.all(Array.from({ length: 6 }, () => post(standIn)));
    expect(statuses).toEqual([204, 204, 204, 204, 204, 204]);
    // Six were open at once (four of them waiting); the latency of the last includes the wait.
    expect(standIn.maxInFlight).toBe(6);
    expect(standIn.inFlight).toBe(0);
    const latencies = standIn.requests.map((r) => r.latencyMs ?? 0).sort((a, b) => a - b);
    expect(latencies[5]).toBeGreaterThanOrEqual(140);
  });

  it('names the kind of each latest request, and an unknown path as such', async () => {
    const standIn = await start();
    expect((await send(standIn, '/api/v1/notifications/end', END)).status).toBe(204);
    expect((await send(standIn, '/api/v1/notifications/favourite', END)).status).toBe(404);
    await expect(standIn.waitForRequests(3, 50)).rejects.toThrow(
      'received 2 (latest: POST /api/v1/notifications/end [end] → 204; ' +
        'POST /api/v1/notifications/favourite [unknown endpoint] → 404)',
    );
  });
});

/* Elevate's Web API v1 rules, endpoint by endpoint; bodies are written out byte for byte. */

const CLUSTER_KEY = 'private-key';
/** The documented test vector: SHA-256 of `user-name`, and its token under `private-key`. */
const SIGNED_IN = '7d77a563ff5910f5fca63065451920530c427c95bcd014d78c8a6ab41da93dff';
const SIGNED_IN_TOKEN = 'df715a9e7c303900fc687d9d2fb6fdd8a2801df6cf66e43e1aa04f03c9d59200';
const END = '{"market":"UK","customerKey":"c","sessionKey":"s"}';
const PAYMENT_INVALID =
  'The payment was invalid (e.g. no order lines or both productKey and variantKey were null or empty).';
const COST_NEEDS_TOKEN =
  'The payment was invalid: cost is only accepted in a secure payment (paymentToken).';
const SECURE_NEEDS_CUSTOMER_KEY = 'The payment was invalid: a secure payment needs a customerKey.';
const TOKEN_INVALID = 'The payment token could not be validated.';

async function send(
  standIn: ElevateStandIn,
  path: string,
  body: string,
  init: { method?: string; contentType?: string } = {},
) {
  const response = await fetch(standIn.url + path, {
    method: init.method ?? 'POST',
    headers: { 'content-type': init.contentType ?? 'application/json' },
    body: (init.method ?? 'POST') === 'POST' ? body : undefined,
  });
  return { status: response.status, text: await response.text() };
}
const hmac = (message: string) => createHmac('sha256', CLUSTER_KEY).update(message).digest('hex');

describe('ElevateStandIn answers every v1 notification endpoint as Elevate does', () => {
  it.each([
    [
      'non-esales-click',
      '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1","productKey":"p","variantKey":null}',
    ],
    [
      'non-esales-click',
      '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1","productKey":null,"variantKey":"v"}',
    ],
    ['click', '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1","ticket":"t"}'],
    ['adding-to-cart', '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1","ticket":"t"}'],
    [
      'non-esales-adding-to-cart',
      '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1","productKey":"p","variantKey":"v"}',
    ],
    [
      'non-esales-adding-to-cart',
      '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1","productKey":null,"variantKey":"v"}',
    ],
    [
      'payment',
      '{"market":"UK","customerKey":"c","sessionKey":"s","lines":[{"productKey":"p","variantKey":null,"quantity":2,"sellingPrice":9.5}]}',
    ],
    [
      'payment',
      '{"market":"UK","customerKey":"c","sessionKey":"s","lines":[{"productKey":null,"variantKey":"v","quantity":1,"sellingPrice":0}]}',
    ],
    ['end', END],
  ])('%s: 204 for %s, recorded with its kind', async (kind, body) => {
    const standIn = await start();
    const path = `/api/v1/notifications/${kind}`;
    expect(await send(standIn, path, body)).toEqual({ status: 204, text: '' });
    expect(standIn.requests).toHaveLength(1);
    expect(standIn.requests[0]).toMatchObject({
      kind,
      path,
      query: {},
      rawBody: body,
      status: 204,
    });
  });

  it.each([
    ['non-esales-click', '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1"}'],
    [
      'non-esales-click',
      '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1","variantKey":"v"}',
    ],
    [
      'non-esales-click',
      '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1","productKey":null,"variantKey":null}',
    ],
    ['non-esales-adding-to-cart', '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1"}'],
    [
      'non-esales-adding-to-cart',
      '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1","variantKey":"v"}',
    ],
  ])('%s: 400 "Product key is missing." for %s', async (kind, body) => {
    const standIn = await start();
    expect(await send(standIn, `/api/v1/notifications/${kind}`, body)).toEqual({
      status: 400,
      text: 'Product key is missing.',
    });
  });

  it.each([
    ['click', '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1"}'],
    ['click', '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1","ticket":null}'],
    ['click', '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1","ticket":""}'],
    ['adding-to-cart', '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1"}'],
    ['adding-to-cart', '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1","ticket":null}'],
    ['adding-to-cart', '{"market":"UK","customerKey":"c","sessionKey":"s","id":"1","ticket":""}'],
  ])('%s: 400 "Ticket is missing." for %s', async (kind, body) => {
    const standIn = await start();
    expect(await send(standIn, `/api/v1/notifications/${kind}`, body)).toEqual({
      status: 400,
      text: 'Ticket is missing.',
    });
  });

  it.each([
    '{"market":"UK","customerKey":"c","sessionKey":"s"}',
    '{"market":"UK","customerKey":"c","sessionKey":"s","lines":[]}',
    '{"market":"UK","customerKey":"c","sessionKey":"s","lines":{"productKey":"p","quantity":1,"sellingPrice":1}}',
    '{"market":"UK","customerKey":"c","sessionKey":"s","lines":["p"]}',
    '{"market":"UK","customerKey":"c","sessionKey":"s","lines":[{"productKey":null,"variantKey":null,"quantity":1,"sellingPrice":1}]}',
    '{"market":"UK","customerKey":"c","sessionKey":"s","lines":[{"productKey":"","variantKey":"","quantity":1,"sellingPrice":1}]}',
    '{"market":"UK","customerKey":"c","sessionKey":"s","lines":[{"productKey":"p","variantKey":null,"quantity":1.5,"sellingPrice":1}]}',
    '{"market":"UK","customerKey":"c","sessionKey":"s","lines":[{"productKey":"p","variantKey":null,"quantity":"1","sellingPrice":1}]}',
    '{"market":"UK","customerKey":"c","sessionKey":"s","lines":[{"productKey":"p","variantKey":null,"quantity":1,"sellingPrice":"9.50"}]}',
    '{"market":"UK","customerKey":"c","sessionKey":"s","lines":[{"productKey":"p","variantKey":null,"quantity":1}]}',
    '{"market":"UK","customerKey":"c","sessionKey":"s","lines":[{"productKey":"p","variantKey":null,"quantity":1,"sellingPrice":1},{"productKey":null,"variantKey":null,"quantity":1,"sellingPrice":1}]}',
  ])('payment: 400 "The payment was invalid (…)" for %s', async (body) => {
    const standIn = await start();
    expect(await send(standIn, '/api/v1/notifications/payment', body)).toEqual({
      status: 400,
      text: PAYMENT_INVALID,
    });
  });

  describe('secure payment (payment?paymentToken=…)', () => {
    const SECURE =
      '{"market":"UK","customerKey":"c","sessionKey":"s","lines":[{"productKey":"p","variantKey":null,"quantity":1,"sellingPrice":10,"cost":4}]}';

    it('refuses a cost without a paymentToken', async () => {
      const standIn = await start({ privateKey: CLUSTER_KEY });
      expect(await send(standIn, '/api/v1/notifications/payment', SECURE)).toEqual({
        status: 400,
        text: COST_NEEDS_TOKEN,
      });
    });

    it('takes a paymentToken that signs the exact body bytes, and records the query', async () => {
      const standIn = await start({ privateKey: CLUSTER_KEY });
      const token = hmac(SECURE);
      const path = `/api/v1/notifications/payment?paymentToken=${token}`;
      expect(await send(standIn, path, SECURE)).toEqual({ status: 204, text: '' });
      expect(standIn.requests[0]).toMatchObject({
        kind: 'payment',
        path,
        query: { paymentToken: token },
        status: 204,
      });
    });

    it('refuses a token of other bytes for the same JSON (re-serialised with a space)', async () => {
      const standIn = await start({ privateKey: CLUSTER_KEY });
      const reserialised =
        '{"market": "UK","customerKey":"c","sessionKey":"s","lines":[{"productKey":"p","variantKey":null,"quantity":1,"sellingPrice":10,"cost":4}]}';
      const path = `/api/v1/notifications/payment?paymentToken=${hmac(reserialised)}`;
      expect(await send(standIn, path, SECURE)).toEqual({ status: 403, text: TOKEN_INVALID });
    });

    it('refuses an empty or upper-case token, and one signed with another key', async () => {
      const standIn = await start({ privateKey: CLUSTER_KEY });
      const other = createHmac('sha256', 'other-key').update(SECURE).digest('hex');
      for (const token of ['', hmac(SECURE).toUpperCase(), other]) {
        const path = `/api/v1/notifications/payment?paymentToken=${token}`;
        expect(await send(standIn, path, SECURE)).toEqual({ status: 403, text: TOKEN_INVALID });
      }
    });

    it('needs a customerKey', async () => {
      const standIn = await start({ privateKey: CLUSTER_KEY });
      const body =
        '{"market":"UK","sessionKey":"s","lines":[{"productKey":"p","variantKey":null,"quantity":1,"sellingPrice":10,"cost":4}]}';
      const path = `/api/v1/notifications/payment?paymentToken=${hmac(body)}`;
      expect(await send(standIn, path, body)).toEqual({
        status: 400,
        text: SECURE_NEEDS_CUSTOMER_KEY,
      });
      const empty = body.replace('"market":"UK",', '"market":"UK","customerKey":"",');
      const emptyPath = `/api/v1/notifications/payment?paymentToken=${hmac(empty)}`;
      expect((await send(standIn, emptyPath, empty)).status).toBe(400);
    });

    it('without a private key, takes any paymentToken', async () => {
      const standIn = await start();
      const path = '/api/v1/notifications/payment?paymentToken=anything';
      expect(await send(standIn, path, SECURE)).toEqual({ status: 204, text: '' });
    });
  });

  describe('the customer-key rule on every endpoint', () => {
    const bodies = {
      'non-esales-click': `{"market":"UK","customerKey":"${SIGNED_IN}","sessionKey":"s","id":"1","token":"TOKEN","productKey":"p","variantKey":null}`,
      click: `{"market":"UK","customerKey":"${SIGNED_IN}","sessionKey":"s","id":"1","token":"TOKEN","ticket":"t"}`,
      'adding-to-cart': `{"market":"UK","customerKey":"${SIGNED_IN}","sessionKey":"s","id":"1","token":"TOKEN","ticket":"t"}`,
      'non-esales-adding-to-cart': `{"market":"UK","customerKey":"${SIGNED_IN}","sessionKey":"s","id":"1","token":"TOKEN","productKey":"p","variantKey":null}`,
      payment: `{"market":"UK","customerKey":"${SIGNED_IN}","sessionKey":"s","token":"TOKEN","lines":[{"productKey":"p","variantKey":null,"quantity":1,"sellingPrice":1}]}`,
      end: `{"market":"UK","customerKey":"${SIGNED_IN}","sessionKey":"s","token":"TOKEN"}`,
    };

    it.each(Object.entries(bodies))(
      '%s: 403 for a SHA-256 customer key with a bad token, 204 with its token',
      async (kind, body) => {
        const standIn = await start({ privateKey: CLUSTER_KEY });
        const path = `/api/v1/notifications/${kind}`;
        const bad = body.replace('TOKEN', '0'.repeat(64));
        expect(await send(standIn, path, bad)).toEqual({
          status: 403,
          text: 'The customer key could not be validated.',
        });
        const missing = body.replace(',"token":"TOKEN"', '');
        expect((await send(standIn, path, missing)).status).toBe(403);
        expect((await send(standIn, path, body.replace('TOKEN', SIGNED_IN_TOKEN))).status).toBe(
          204,
        );
      },
    );
  });

  it('end: 400 only for malformed JSON', async () => {
    const standIn = await start();
    for (const body of ['{"market":"UK",', '[]', '"end"', 'null', '']) {
      expect(await send(standIn, '/api/v1/notifications/end', body)).toEqual({
        status: 400,
        text: 'Malformed JSON.',
      });
    }
    expect((await send(standIn, '/api/v1/notifications/end', '{}')).status).toBe(204);
  });

  it('answers 404 for an unknown path, 405 for another method, 415 for another content type', async () => {
    const standIn = await start();
    for (const path of [
      '/api/v1/notifications/end-session',
      '/api/v1/notifications/favourite',
      '/api/v1/notifications',
      '/api/v2/notifications/click',
      '/api/v1/notifications/__proto__',
    ]) {
      expect(await send(standIn, path, END)).toEqual({ status: 404, text: 'Not Found' });
    }
    expect(standIn.requests.every((r) => r.kind === undefined)).toBe(true);
    expect((await send(standIn, '/api/v1/notifications/end', END, { method: 'GET' })).status).toBe(
      405,
    );
    const textPlain = { contentType: 'text/plain' };
    expect((await send(standIn, '/api/v1/notifications/end', END, textPlain)).status).toBe(415);
  });

  it('lists the requests of one kind with requestsOf', async () => {
    const standIn = await start();
    const payment =
      '{"market":"UK","customerKey":"c","sessionKey":"s","lines":[{"productKey":"p","variantKey":null,"quantity":1,"sellingPrice":1}]}';
    await send(standIn, '/api/v1/notifications/payment', payment);
    await send(standIn, '/api/v1/notifications/end', END);
    await send(standIn, '/api/v1/notifications/payment?paymentToken=t&x=a%20b', payment);
    await send(standIn, '/api/v1/notifications/payment', '{}');
    const payments = standIn.requestsOf('payment');
    expect(payments.map((r) => r.status)).toEqual([204, 204, 400]);
    expect(payments[1]?.query).toEqual({ paymentToken: 't', x: 'a b' });
    expect(standIn.requestsOf('end')).toHaveLength(1);
    expect(standIn.requestsOf('click')).toEqual([]);
  });
});

/* What the stand-in keeps: no visible secret, at most 64 KiB of each body, up to 10 000 requests. */

describe('ElevateStandIn keeps its private key to itself', () => {
  it('shows the key in neither util.inspect() nor JSON.stringify()', async () => {
    const standIn = await start({ privateKey: CLUSTER_KEY, capacity: 4, maxRecorded: 50 });
    const body = `{"market":"UK","customerKey":"${SIGNED_IN}","sessionKey":"s","token":"${SIGNED_IN_TOKEN}"}`;
    expect((await send(standIn, '/api/v1/notifications/end', body)).status).toBe(204);
    standIn.respondWith(() => undefined);

    const shown = [
      inspect(standIn),
      inspect(standIn, { showHidden: true, depth: Infinity, getters: true }),
      JSON.stringify(standIn),
      JSON.stringify(standIn.requests),
      JSON.stringify(Object.getOwnPropertyNames(standIn)),
    ];
    for (const text of shown) expect(text).not.toContain(CLUSTER_KEY);
    // What is shown: the public record.
    expect(Object.keys(standIn).sort()).toEqual(['requests', 'url']);
    expect(shown[0]).toContain(standIn.url);
  });
});

describe('ElevateStandIn records at most 64 KiB of a body', () => {
  const KIB = 1024;
  /** A JSON body of exactly `size` bytes: `{…prefix fields…,"pad":"xxx…",…suffix fields…}`. */
  function bodyOf(size: number, head: string, tail = '') {
    const frame = `{${head},"pad":"","x":0${tail}}`;
    const body = frame.replace(
      '"pad":""',
      `"pad":"${'x'.repeat(size - Buffer.byteLength(frame))}"`,
    );
    expect(Buffer.byteLength(body)).toBe(size);
    return body;
  }
  const LINES =
    '"market":"UK","customerKey":"c","sessionKey":"s","lines":[{"productKey":"p","variantKey":null,"quantity":1,"sellingPrice":10,"cost":4}]';

  it('judges a 200 KiB payment on all its bytes, and records 64 KiB of it, truncated', async () => {
    const standIn = await start({ privateKey: CLUSTER_KEY });
    const body = bodyOf(200 * KIB, LINES);
    const path = `/api/v1/notifications/payment?paymentToken=${hmac(body)}`;

    // The token signs all 200 KiB: accepted. One over the first 64 KiB only would not be.
    expect(await send(standIn, path, body)).toEqual({ status: 204, text: '' });
    const first64 = body.slice(0, 64 * KIB);
    const prefixPath = `/api/v1/notifications/payment?paymentToken=${hmac(first64)}`;
    expect(await send(standIn, prefixPath, body)).toEqual({ status: 403, text: TOKEN_INVALID });

    const [accepted, refused] = standIn.requests;
    expect(accepted).toMatchObject({
      kind: 'payment',
      status: 204,
      truncated: true,
      bodyBytes: 200 * KIB,
      body: undefined,
    });
    expect(accepted?.rawBody).toHaveLength(64 * KIB);
    expect(accepted?.rawBody).toBe(first64);
    expect(refused).toMatchObject({ status: 403, truncated: true, bodyBytes: 200 * KIB });
    // The verdicts of the whole bodies stay, though the records no longer hold them.
    expect(accepted && standIn.elevateAnswer(accepted)).toEqual({ status: 204 });
    expect(refused && standIn.elevateAnswer(refused)).toEqual({ status: 403, body: TOKEN_INVALID });
  });

  it('reads the fields past the first 64 KiB: the token, the product key, the closing brace', async () => {
    const standIn = await start({ privateKey: CLUSTER_KEY });
    const head = `"market":"UK","customerKey":"${SIGNED_IN}","sessionKey":"s"`;
    const path = '/api/v1/notifications/non-esales-click';
    const signedIn = bodyOf(200 * KIB, head, `,"productKey":"p","token":"${SIGNED_IN_TOKEN}"`);
    const badToken = bodyOf(200 * KIB, head, `,"productKey":"p","token":"${'0'.repeat(64)}"`);
    const noProduct = bodyOf(200 * KIB, head, `,"token":"${SIGNED_IN_TOKEN}"`);
    const cutShort = bodyOf(200 * KIB, head).slice(0, -1);

    expect(await send(standIn, path, signedIn)).toEqual({ status: 204, text: '' });
    expect(await send(standIn, path, badToken)).toEqual({
      status: 403,
      text: 'The customer key could not be validated.',
    });
    expect(await send(standIn, path, noProduct)).toEqual({
      status: 400,
      text: 'Product key is missing.',
    });
    expect(await send(standIn, '/api/v1/notifications/end', cutShort)).toEqual({
      status: 400,
      text: 'Malformed JSON.',
    });
    expect(standIn.requests.map((r) => [r.status, r.truncated, r.rawBody.length])).toEqual([
      [204, true, 64 * KIB],
      [403, true, 64 * KIB],
      [400, true, 64 * KIB],
      [400, true, 64 * KIB],
    ]);
    // Nothing of what came after the first 64 KiB is kept.
    expect(JSON.stringify(standIn.requests)).not.toContain(SIGNED_IN_TOKEN);
  });

  it('keeps a body of exactly 64 KiB whole, parsed', async () => {
    const standIn = await start();
    const body = bodyOf(64 * KIB, '"market":"UK","customerKey":"c","sessionKey":"s"');
    expect((await send(standIn, '/api/v1/notifications/end', body)).status).toBe(204);
    expect(standIn.requests[0]).toMatchObject({
      rawBody: body,
      truncated: false,
      bodyBytes: 64 * KIB,
      body: { market: 'UK', customerKey: 'c', sessionKey: 's' },
    });
  });

  it('cuts the kept part before a character the 64 KiB limit would split', async () => {
    const standIn = await start();
    // '€' is 3 bytes in UTF-8; placed so that the 65 536th byte is its second.
    const frame = '{"market":"UK","customerKey":"c","sessionKey":"s","pad":"';
    const fill = 'x'.repeat(64 * KIB - 2 - Buffer.byteLength(frame));
    const body = `${frame}${fill}${'€'.repeat(40_000)}"}`;
    expect((await send(standIn, '/api/v1/notifications/end', body)).status).toBe(204);
    const [recorded] = standIn.requests;
    expect(recorded?.truncated).toBe(true);
    expect(recorded?.bodyBytes).toBe(Buffer.byteLength(body));
    expect(recorded?.rawBody).toBe(`${frame}${fill}`);
    expect(Buffer.byteLength(recorded?.rawBody ?? '')).toBe(64 * KIB - 2);
  });

  it('answers 413 to a body over 1 MiB, and records nothing', async () => {
    const standIn = await start();
    const body = bodyOf(1024 * KIB + 1, '"market":"UK","customerKey":"c","sessionKey":"s"');
    const status = await send(standIn, '/api/v1/notifications/end', body).then(
      (response) => response.status,
      () => 'reset',
    );
    expect([413, 'reset']).toContain(status);
    expect(standIn.requests).toEqual([]);
  });

  it('keeps recording up to 10 000 requests by default, then drops the oldest', async () => {
    const standIn = await start();
    const agent = new Agent({ connections: 32 });
    try {
      const one = async (i: number) => {
        const response = await request(`${standIn.url}/api/v1/notifications/end`, {
          method: 'POST',
          body: `{"market":"UK","customerKey":"c","sessionKey":"s${i}"}`,
          headers: { 'content-type': 'application/json' },
          dispatcher: agent,
        });
        await response.body.dump();
        return response.statusCode;
      };
      const total = 10_005;
      let next = 0;
      const worker = async () => {
        while (next < total) expect(await one(next++)).toBe(204);
      };
      await Promise.all(Array.from({ length: 32 }, worker));
    } finally {
      await agent.close();
    }
    expect(standIn.requests).toHaveLength(10_000);
    const sessions = standIn.requests.map((r) => (r.body as { sessionKey: string }).sessionKey);
    expect(new Set(sessions).size).toBe(10_000);
    const oldest = standIn.requests[0];
    expect((await send(standIn, '/api/v1/notifications/end', END)).status).toBe(204);
    expect(standIn.requests).toHaveLength(10_000);
    expect(standIn.requests).not.toContain(oldest);
    expect(standIn.requests.at(-1)?.rawBody).toBe(END);
  }, 60_000);
});
