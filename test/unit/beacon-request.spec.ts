import { describe, expect, it } from '@jest/globals';
import {
  beaconClientKey,
  beaconContentType,
  beaconOrigin,
  checkBeaconFields,
  isAllowedBeaconOrigin,
  normaliseOrigin,
  parseBeaconBody,
} from '../../lib/beacon/beacon-request.js';

/* The beacon endpoint's pure rules: content types, bodies and origins, table-driven. */

const OWN = 'shop.example.com';
const PARTNER = 'https://partner.example.com';
const allowed = new Set([PARTNER]);

describe('beaconContentType', () => {
  it.each<[string | undefined, 'text' | 'json' | undefined]>([
    ['text/plain;charset=UTF-8', 'text'],
    ['text/plain', 'text'],
    ['Text/Plain; charset="utf-8"', 'text'],
    ['application/json', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['text/plain; charset=iso-8859-1', undefined],
    ['application/x-www-form-urlencoded', undefined],
    ['multipart/form-data; boundary=x', undefined],
    ['application/vnd.api+json', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %j', (header, expected) => {
    expect(beaconContentType(header)).toBe(expected);
  });
});

describe('parseBeaconBody', () => {
  it.each([
    [
      { kind: 'click', ticket: 't1' },
      { kind: 'click', ticket: 't1' },
    ],
    [
      { kind: 'adding-to-cart', ticket: 't2' },
      { kind: 'adding-to-cart', ticket: 't2' },
    ],
    [
      { kind: 'non-esales-click', productKey: 'p1', variantKey: 'v1' },
      { kind: 'non-esales-click', productKey: 'p1', variantKey: 'v1' },
    ],
    [
      { kind: 'non-esales-adding-to-cart', variantKey: null, productKey: 'p1' },
      { kind: 'non-esales-adding-to-cart', productKey: 'p1', variantKey: null },
    ],
  ])('takes %j', (body, post) => {
    expect(parseBeaconBody(JSON.stringify(body))).toEqual({ ok: true, post });
    expect(parseBeaconBody(new TextEncoder().encode(JSON.stringify(body)))).toEqual({
      ok: true,
      post,
    });
  });

  it.each<[string, string | Uint8Array, RegExp, string | undefined]>([
    ['not JSON', '{"kind":', /must be JSON/, undefined],
    ['not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), /UTF-8/, undefined],
    ['an array', '[{"kind":"click","ticket":"t"}]', /JSON object/, undefined],
    ['null', 'null', /JSON object/, undefined],
    ['a number', '42', /JSON object/, undefined],
    ['no kind', '{"ticket":"t"}', /kind must be one of/, undefined],
    ['another kind', '{"kind":"payment"}', /kind must be one of/, undefined],
    ['a kind that is no string', '{"kind":["click"]}', /kind must be one of/, undefined],
    [
      '__proto__',
      '{"kind":"click","ticket":"t","__proto__":{"x":1}}',
      /forbidden field/,
      undefined,
    ],
    [
      'constructor',
      '{"constructor":{"prototype":{}},"kind":"click"}',
      /forbidden field/,
      undefined,
    ],
    ['prototype', '{"kind":"click","prototype":1}', /forbidden field/, undefined],
    [
      'customerKey',
      '{"kind":"click","ticket":"t","customerKey":"c"}',
      /customerKey must not be sent/,
      'click',
    ],
    [
      'sessionKey',
      '{"kind":"click","ticket":"t","sessionKey":"s"}',
      /sessionKey must not be sent/,
      'click',
    ],
    [
      'token',
      '{"kind":"non-esales-click","productKey":"p","token":"t"}',
      /token must not be sent/,
      'non-esales-click',
    ],
    ['market', '{"kind":"click","ticket":"t","market":"SE"}', /market must not be sent/, 'click'],
    [
      'another field',
      '{"kind":"click","ticket":"t","secret":"x"}',
      /a field click does not take/,
      'click',
    ],
    [
      'a product key on a click',
      '{"kind":"click","ticket":"t","productKey":"p"}',
      /does not take/,
      'click',
    ],
    [
      'a ticket on a non-eSales click',
      '{"kind":"non-esales-click","ticket":"t"}',
      /does not take/,
      'non-esales-click',
    ],
    ['no ticket', '{"kind":"adding-to-cart"}', /needs a ticket/, 'adding-to-cart'],
    ['a nested ticket', '{"kind":"click","ticket":{"$ne":1}}', /needs a ticket/, 'click'],
    [
      'a numeric product key',
      '{"kind":"non-esales-click","productKey":1}',
      /productKey must be a string or null/,
      'non-esales-click',
    ],
    [
      'a nested variant key',
      '{"kind":"non-esales-click","variantKey":[]}',
      /variantKey must be a string or null/,
      'non-esales-click',
    ],
  ])('refuses %s', (_, body, reason, kind) => {
    const result = parseBeaconBody(body);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toMatch(reason);
    expect(result.kind).toBe(kind);
  });

  it('never echoes what the page sent', () => {
    const secret = 'SECRET-VALUE-42';
    for (const body of [
      `{"kind":"${secret}"}`,
      `{"kind":"click","${secret}":1}`,
      `{"kind":"click","ticket":{"${secret}":1}}`,
      `${secret}`,
    ]) {
      const result = parseBeaconBody(body);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).not.toContain(secret);
    }
  });
});

describe('checkBeaconFields', () => {
  it('checks an object a platform parser made, like a body it parses itself', () => {
    expect(checkBeaconFields({ kind: 'click', ticket: 't' })).toEqual({
      ok: true,
      post: { kind: 'click', ticket: 't' },
    });
    expect(checkBeaconFields(JSON.parse('{"kind":"click","ticket":"t","__proto__":{}}')).ok).toBe(
      false,
    );
  });

  it('refuses an object that is not a plain one', () => {
    expect(checkBeaconFields(new Map([['kind', 'click']])).ok).toBe(false);
    expect(
      checkBeaconFields(Object.assign(Object.create({ kind: 'click' }), { ticket: 't' })).ok,
    ).toBe(false);
  });
});

describe('isAllowedBeaconOrigin', () => {
  it.each<[string, Record<string, string>, boolean]>([
    [
      'Sec-Fetch-Site same-origin',
      { 'sec-fetch-site': 'same-origin', origin: `https://${OWN}`, host: OWN },
      true,
    ],
    [
      'Sec-Fetch-Site same-origin behind a proxy that rewrites Host',
      { 'sec-fetch-site': 'same-origin', origin: `https://${OWN}`, host: '127.0.0.1:3000' },
      true,
    ],
    [
      'Sec-Fetch-Site same-site',
      { 'sec-fetch-site': 'same-site', origin: 'https://blog.example.com', host: OWN },
      false,
    ],
    [
      'Sec-Fetch-Site cross-site',
      { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example', host: OWN },
      false,
    ],
    [
      'Sec-Fetch-Site cross-site from an allowed origin',
      { 'sec-fetch-site': 'cross-site', origin: PARTNER, host: OWN },
      true,
    ],
    ['Sec-Fetch-Site none', { 'sec-fetch-site': 'none', host: OWN }, false],
    ['only an Origin of the own host', { origin: `https://${OWN}`, host: OWN }, true],
    [
      'only an Origin of the own host, another case',
      { origin: `https://${OWN}`, host: OWN.toUpperCase() },
      true,
    ],
    ['only an Origin of another port', { origin: `https://${OWN}:8443`, host: OWN }, false],
    ['only an allowed Origin', { origin: PARTNER, host: OWN }, true],
    ['only another Origin', { origin: 'https://evil.example', host: OWN }, false],
    ['Origin: null', { origin: 'null', host: OWN }, false],
    ['a malformed Origin', { origin: 'not a url', host: OWN }, false],
    ['neither header', { host: OWN }, false],
    ['an Origin without Host', { origin: `https://${OWN}` }, false],
  ])('%s → %s', (_, headers, expected) => {
    expect(isAllowedBeaconOrigin(headers, allowed)).toBe(expected);
  });
});

describe('isAllowedBeaconOrigin with the request protocol', () => {
  it.each<[string, Record<string, string>, string, boolean]>([
    ['an https Origin over https', { origin: `https://${OWN}`, host: OWN }, 'https', true],
    ['an http Origin over https', { origin: `http://${OWN}`, host: OWN }, 'https', false],
    ['an https Origin over http', { origin: `https://${OWN}`, host: OWN }, 'http', false],
    ['an allowed Origin over another scheme', { origin: PARTNER, host: OWN }, 'http', true],
    [
      'Sec-Fetch-Site same-origin over another scheme (a TLS proxy)',
      { 'sec-fetch-site': 'same-origin', origin: `https://${OWN}`, host: OWN },
      'http',
      true,
    ],
  ])('%s → %s', (_, headers, protocol, expected) => {
    expect(isAllowedBeaconOrigin(headers, allowed, protocol)).toBe(expected);
  });

  it('tells the own pages from an allowed origin', () => {
    expect(beaconOrigin({ 'sec-fetch-site': 'same-origin' }, allowed)).toBe('same-origin');
    expect(beaconOrigin({ origin: `https://${OWN}`, host: OWN }, allowed, 'https')).toBe(
      'same-origin',
    );
    expect(beaconOrigin({ 'sec-fetch-site': 'cross-site', origin: PARTNER }, allowed)).toBe(
      'allowed',
    );
    expect(
      beaconOrigin({ 'sec-fetch-site': 'cross-site', origin: 'https://x.example' }, allowed),
    ).toBe(undefined);
  });
});

describe('beaconClientKey', () => {
  it.each<[string, string | undefined, string | undefined, string]>([
    ['an IPv4 ip', '203.0.113.9', '127.0.0.1', '203.0.113.9'],
    ['junk from X-Forwarded-For', 'z'.repeat(6_000), '127.0.0.1', '127.0.0.1'],
    ['a list that is no single IP', '1.2.3.4, 5.6.7.8', '10.0.0.1', '10.0.0.1'],
    ['no ip', undefined, '10.0.0.1', '10.0.0.1'],
    ['an IPv4-mapped address', undefined, '::ffff:127.0.0.1', '127.0.0.1'],
    ['an IPv6 address, by its /64', '2001:db8:1:2:3:4:5:6', undefined, '2001:db8:1:2::/64'],
    ['another in the same /64', '2001:0db8:0001:0002:ffff::1', undefined, '2001:db8:1:2::/64'],
    ['a compressed IPv6 address', '2001:db8::1', undefined, '2001:db8:0:0::/64'],
    ['loopback IPv6', '::1', undefined, '0:0:0:0::/64'],
    ['a zoned address', 'fe80::1%eth0', undefined, 'fe80:0:0:0::/64'],
    ['nothing usable', 'junk', undefined, 'unknown'],
  ])('%s → %s', (_, ip, remote, expected) => {
    expect(beaconClientKey(ip, remote)).toBe(expected);
  });
});

describe('normaliseOrigin', () => {
  it.each<[string, string | undefined]>([
    ['https://www.example.com', 'https://www.example.com'],
    ['https://WWW.Example.com/', 'https://www.example.com'],
    ['https://www.example.com:443', 'https://www.example.com'],
    ['http://localhost:3000', 'http://localhost:3000'],
    ['https://www.example.com/path', undefined],
    ['https://www.example.com?x=1', undefined],
    ['https://user:pw@www.example.com', undefined],
    ['ftp://www.example.com', undefined],
    ['www.example.com', undefined],
    ['*', undefined],
  ])('%j → %j', (entry, expected) => {
    expect(normaliseOrigin(entry)).toBe(expected);
  });
});
