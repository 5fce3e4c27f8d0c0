/*
 * The beacon endpoint's pure rules: which posts it takes, from where, and what their bodies may
 * hold. No Nest, no I/O: what the middleware decides is testable here, one function per rule.
 * Every reason is a fixed sentence: a 400 never echoes what the page sent.
 */

import { isIP } from 'node:net';

/** The notifications a page may post: the ones a visitor's click or cart button makes. */
export const BEACON_KINDS = Object.freeze([
  'click',
  'non-esales-click',
  'adding-to-cart',
  'non-esales-adding-to-cart',
] as const);

/** One of `BEACON_KINDS`. */
export type BeaconKindName = (typeof BEACON_KINDS)[number];

/** What a valid post carries: its kind and the fields the page knows, nothing else. */
export type BeaconPost =
  | { readonly kind: 'click' | 'adding-to-cart'; readonly ticket: string }
  | {
      readonly kind: 'non-esales-click' | 'non-esales-adding-to-cart';
      readonly productKey: string | null | undefined;
      readonly variantKey: string | null | undefined;
    };

/** A post, or why it is refused (with its kind when the body got that far, for the stats). */
export type BeaconParseResult =
  | { readonly ok: true; readonly post: BeaconPost }
  | { readonly ok: false; readonly reason: string; readonly kind?: BeaconKindName };

/**
 * Fields that name the visitor or the market. A page must never choose them: they come from the
 * request's cookies (or the app's `resolveVisitor` / `resolveMarket`), so that one visitor's page
 * cannot post as another. A post that carries one is refused rather than quietly stripped, so the
 * mistake shows while the page is written.
 */
export const SERVER_SIDE_FIELDS: readonly string[] = Object.freeze([
  'customerKey',
  'sessionKey',
  'token',
  'market',
  'id',
]);

/** Keys that reach a prototype when a body is merged into an object carelessly: refused outright. */
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const TICKET_KINDS: ReadonlySet<string> = new Set(['click', 'adding-to-cart']);
const KIND_LIST = BEACON_KINDS.join(', ');

const refuse = (reason: string, kind?: BeaconKindName): BeaconParseResult =>
  kind === undefined ? { ok: false, reason } : { ok: false, reason, kind };

/** How a body is to be read, from its `Content-Type`; undefined for a type the endpoint refuses. */
export function beaconContentType(
  header: string | string[] | undefined,
): 'text' | 'json' | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const [type = '', ...parameters] = value.split(';').map((part) => part.trim().toLowerCase());
  for (const parameter of parameters) {
    const [name, given = ''] = parameter.split('=').map((part) => part.trim());
    // The body is decoded as UTF-8, which is what `sendBeacon` and `fetch` send.
    if (name === 'charset' && given.replace(/^"|"$/g, '') !== 'utf-8') return undefined;
  }
  if (type === 'text/plain') return 'text';
  if (type === 'application/json') return 'json';
  return undefined;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Parses and checks a body as received (bytes or already decoded text). */
export function parseBeaconBody(body: Uint8Array | string): BeaconParseResult {
  let text: string;
  try {
    text = typeof body === 'string' ? body : decoder.decode(body);
  } catch {
    return refuse('the body must be UTF-8 text');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refuse('the body must be JSON');
  }
  return checkBeaconFields(value);
}

/**
 * Checks a parsed body: an object of `kind` and the kind's own fields, strings only (the product
 * and variant keys may be null). Refuses arrays, nesting, prototype keys, the visitor and market
 * fields, and any other field.
 */
export function checkBeaconFields(value: unknown): BeaconParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return refuse('the body must be a JSON object');
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) {
    return refuse('the body must be a JSON object');
  }
  const record = value as Readonly<Record<string, unknown>>;
  const keys = Object.keys(record);
  // Before anything is read from it: `__proto__` as an own key (JSON.parse makes one) included.
  if (keys.some((key) => PROTOTYPE_KEYS.has(key))) return refuse('the body has a forbidden field');
  const kind = Object.hasOwn(record, 'kind') ? record['kind'] : undefined;
  if (typeof kind !== 'string' || !(BEACON_KINDS as readonly string[]).includes(kind)) {
    return refuse(`kind must be one of ${KIND_LIST}`);
  }
  const name = kind as BeaconKindName;
  const own = TICKET_KINDS.has(name) ? ['ticket'] : ['productKey', 'variantKey'];
  for (const key of keys) {
    if (key === 'kind' || own.includes(key)) continue;
    if (SERVER_SIDE_FIELDS.includes(key)) {
      return refuse(`${key} must not be sent: the server adds the visitor and the market`, name);
    }
    return refuse(`the body has a field ${name} does not take`, name);
  }
  if (TICKET_KINDS.has(name)) {
    const ticket = record['ticket'];
    if (typeof ticket !== 'string') return refuse(`${name} needs a ticket (a string)`, name);
    return { ok: true, post: { kind: name as 'click' | 'adding-to-cart', ticket } };
  }
  const productKey = record['productKey'];
  const variantKey = record['variantKey'];
  for (const [field, given] of [
    ['productKey', productKey],
    ['variantKey', variantKey],
  ] as const) {
    if (given !== undefined && given !== null && typeof given !== 'string') {
      return refuse(`${field} must be a string or null`, name);
    }
  }
  return {
    ok: true,
    post: {
      kind: name as 'non-esales-click' | 'non-esales-adding-to-cart',
      productKey: productKey as string | null | undefined,
      variantKey: variantKey as string | null | undefined,
    },
  };
}

/** The request headers the origin rule reads. */
export interface BeaconOriginHeaders {
  readonly origin?: string | string[] | undefined;
  readonly host?: string | string[] | undefined;
  readonly 'sec-fetch-site'?: string | string[] | undefined;
}

const single = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? undefined : value;

/**
 * Whether a post comes from the app's own pages or one of `allowedOrigins` (normalised origins,
 * `https://www.example.com`).
 *
 * - `Sec-Fetch-Site` (set by the browser, never by the page): `same-origin` passes, even behind a
 *   proxy that rewrites `Host`; any other value needs an `Origin` in `allowedOrigins`.
 * - Without it (older browsers), `Origin` must name the request's own `Host` (and, when `protocol`
 *   is given, its scheme: `http` or `https`), or be allowed.
 * - Neither header: not a browser's `sendBeacon` / `fetch` post; refused.
 *
 * `Origin: null` (sandboxed frames, privacy redirects) is never allowed.
 */
export function isAllowedBeaconOrigin(
  headers: BeaconOriginHeaders,
  allowedOrigins: ReadonlySet<string>,
  protocol?: string,
): boolean {
  return beaconOrigin(headers, allowedOrigins, protocol) !== undefined;
}

/**
 * `isAllowedBeaconOrigin`, saying why: `same-origin` for the app's own pages, `allowed` for an
 * origin of `allowedOrigins` (whose posts may come without the visitor's `SameSite=Lax` cookies),
 * undefined for a refused post.
 */
export function beaconOrigin(
  headers: BeaconOriginHeaders,
  allowedOrigins: ReadonlySet<string>,
  protocol?: string,
): 'same-origin' | 'allowed' | undefined {
  const origin = single(headers.origin)?.trim();
  const fetchSite = single(headers['sec-fetch-site'])?.trim().toLowerCase();
  const allowed = origin !== undefined && allowedOrigins.has(origin.toLowerCase());
  if (fetchSite !== undefined) {
    if (fetchSite === 'same-origin') return 'same-origin';
    return allowed ? 'allowed' : undefined;
  }
  if (origin === undefined || origin === 'null') return undefined;
  const host = single(headers.host)?.trim().toLowerCase();
  if (host) {
    try {
      const url = new URL(origin);
      const scheme = protocol?.trim().toLowerCase().replace(/:$/, '');
      if (url.host === host && (!scheme || url.protocol === `${scheme}:`)) return 'same-origin';
    } catch {
      // Not a URL: only an allowed origin could still pass, and it is one.
    }
  }
  return allowed ? 'allowed' : undefined;
}

/**
 * The rate limit's key for a client: the platform's `ip` only when it is an IP address (a junk
 * `X-Forwarded-For` under `trust proxy` is not a key), else the socket's address. IPv6 clients are
 * grouped by their /64 (one subscriber's prefix), IPv4-mapped IPv6 as the IPv4 address.
 */
export function beaconClientKey(ip: string | undefined, remoteAddress: string | undefined): string {
  const address = ip !== undefined && isIP(ip) !== 0 ? ip : remoteAddress;
  if (address === undefined || isIP(address) === 0) return 'unknown';
  if (isIP(address) === 4) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address (valid per `isIP`), zone dropped, `::` expanded. */
function ipv6Groups(address: string): string[] {
  let text = address.toLowerCase().split('%')[0] ?? '';
  // An embedded IPv4 tail (`::ffff:1.2.3.4`, `64:ff9b::1.2.3.4`) as two groups.
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text =
      text.slice(0, tail.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest === undefined ? [] : rest ? rest.split(':') : [];
  const fill =
    rest === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((group) => group.replace(/^0+(?=.)/, ''));
}

/**
 * `allowedOrigins` entries as `isAllowedBeaconOrigin` compares them: an `http(s)` origin (scheme,
 * host, port) without path, query or credentials, lower-cased as browsers send it; undefined for
 * an entry that is no such origin.
 */
export function normaliseOrigin(entry: string): string | undefined {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password || url.search || url.hash) return undefined;
  if (url.pathname !== '/' || url.origin === 'null') return undefined;
  return url.origin.toLowerCase();
}
