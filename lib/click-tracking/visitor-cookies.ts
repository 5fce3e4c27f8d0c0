import { parse, serialize } from 'cookie';
import type { EsalesCookieNames } from './click-tracking-options.interface.js';

/** The cookie names Elevate's browser library reads and writes. */
export const DEFAULT_COOKIE_NAMES: Readonly<Required<EsalesCookieNames>> = Object.freeze({
  sessionKey: 'apptus.sessionKey',
  customerKey: 'apptus.customerKey',
  token: 'apptus.token',
});

/** Cookie names that `serialize` accepts (RFC 6265 token characters). */
export const COOKIE_NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;

/** Attributes of the cookies this package sets. */
export interface VisitorCookieAttributes {
  /** Add `Secure`: the request came over https. */
  readonly secure: boolean;
  readonly domain?: string;
}

/** The Apptus cookies of a request, as sent; absent or empty ones are undefined. */
export interface VisitorCookieValues {
  sessionKey?: string;
  customerKey?: string;
  token?: string;
}

/** Reads the Apptus cookies from a raw `Cookie` header. Pure; never throws. */
export function readVisitorCookies(
  cookieHeader: string | string[] | undefined,
  names: Readonly<Required<EsalesCookieNames>>,
): VisitorCookieValues {
  const header = Array.isArray(cookieHeader) ? cookieHeader.join('; ') : cookieHeader;
  if (!header) return {};
  const cookies = parse(header);
  const values: VisitorCookieValues = {};
  for (const field of ['sessionKey', 'customerKey', 'token'] as const) {
    const value = cookies[names[field]];
    if (value) values[field] = value;
  }
  return values;
}

/**
 * A `Set-Cookie` value shared with Elevate's browser library: `Path=/`, one year, `SameSite=Lax`,
 * `Secure` on https, and deliberately **not** `HttpOnly`, because the browser library reads it.
 */
export function visitorCookie(
  name: string,
  value: string,
  attributes: VisitorCookieAttributes,
): string {
  return serialize(name, value, {
    path: '/',
    maxAge: ONE_YEAR_SECONDS,
    expires: new Date(Date.now() + ONE_YEAR_SECONDS * 1000),
    sameSite: 'lax',
    secure: attributes.secure,
    ...(attributes.domain ? { domain: attributes.domain } : {}),
  });
}

/** A `Set-Cookie` value that deletes the cookie (same path and domain as `visitorCookie`). */
export function expiredVisitorCookie(name: string, attributes: VisitorCookieAttributes): string {
  return serialize(name, '', {
    path: '/',
    maxAge: 0,
    expires: new Date(0),
    sameSite: 'lax',
    secure: attributes.secure,
    ...(attributes.domain ? { domain: attributes.domain } : {}),
  });
}

/** An Express (Node `ServerResponse`) or Fastify (`FastifyReply`) response. */
interface NodeLikeResponse {
  getHeader(name: string): unknown;
  setHeader(name: string, value: string | string[]): unknown;
  removeHeader(name: string): unknown;
  headersSent?: boolean;
}
interface FastifyLikeReply {
  header(name: string, value: string): unknown;
  getHeader(name: string): unknown;
  removeHeader(name: string): unknown;
  sent?: boolean;
  raw: { headersSent?: boolean };
}

const isFastifyReply = (response: unknown): response is FastifyLikeReply =>
  typeof response === 'object' &&
  response !== null &&
  'raw' in response &&
  typeof (response as { header?: unknown }).header === 'function';

const isNodeResponse = (response: unknown): response is NodeLikeResponse =>
  typeof response === 'object' &&
  response !== null &&
  typeof (response as { setHeader?: unknown }).setHeader === 'function' &&
  typeof (response as { getHeader?: unknown }).getHeader === 'function';

/** A `Set-Cookie` header as a list: Node and Fastify hold one value as a string, several as an array. */
const asList = (value: unknown): string[] =>
  Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string')
    : typeof value === 'string'
      ? [value]
      : [];

/** Whether the response's headers have gone out, so cookies can no longer be added. */
export function headersSent(response: unknown): boolean {
  if (isFastifyReply(response)) return response.sent === true || response.raw.headersSent === true;
  if (isNodeResponse(response)) return response.headersSent === true;
  return true;
}

/**
 * Appends `Set-Cookie` values to an Express or Fastify response, keeping the ones already there.
 * Returns false (and does nothing) when the headers were sent or the response is neither.
 */
export function appendSetCookies(response: unknown, values: readonly string[]): boolean {
  if (values.length === 0) return true;
  if (headersSent(response)) return false;
  if (isFastifyReply(response)) {
    for (const value of values) response.header('set-cookie', value);
    return true;
  }
  if (isNodeResponse(response)) {
    response.setHeader('Set-Cookie', [...asList(response.getHeader('set-cookie')), ...values]);
    return true;
  }
  return false;
}

/** The Node response under a platform's response: what actually writes the status line. */
export interface RawResponse {
  readonly statusCode: number;
  once(event: 'finish', listener: () => void): unknown;
  writeHead(statusCode: number, ...rest: unknown[]): unknown;
  getHeader(name: string): unknown;
  setHeader(name: string, value: string | string[]): unknown;
}

/** The Node response under Express's `res` (itself) or Fastify's reply (`reply.raw`). */
export function rawResponseOf(response: unknown): RawResponse | undefined {
  const candidate = (response as { raw?: unknown } | undefined)?.raw ?? response;
  const raw = candidate as Partial<RawResponse> | undefined;
  return typeof raw?.once === 'function' &&
    typeof raw.writeHead === 'function' &&
    typeof raw.setHeader === 'function' &&
    typeof raw.getHeader === 'function'
    ? (raw as RawResponse)
    : undefined;
}

/**
 * Adds `Set-Cookie` values to the response at the moment its status line is written, and only if
 * that status is below 400. Whatever the handler does — `@Redirect()`, `res.redirect()`, an
 * exception turned into a 404 by a filter — the cookies go out with a successful response only.
 * Every platform ends in `writeHead` (Node's implicit headers call it too), so this is the one place
 * where the final status is known and headers can still change.
 */
export function setCookiesOnSuccess(raw: RawResponse, cookies: readonly string[]): void {
  if (cookies.length === 0) return;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- restored and called with `this`
  const writeHead = raw.writeHead;
  raw.writeHead = function (this: RawResponse, statusCode: number, ...rest: unknown[]) {
    raw.writeHead = writeHead;
    if (statusCode < 400) addToWriteHead(raw, rest, cookies);
    return writeHead.call(this, statusCode, ...rest);
  };
}

/** Merges cookies into what `writeHead(status, [reason], [headers])` is about to write. */
function addToWriteHead(raw: RawResponse, rest: unknown[], cookies: readonly string[]): void {
  const headers = rest[typeof rest[0] === 'string' ? 1 : 0];
  if (Array.isArray(headers)) {
    // The flat [name, value, name, value, …] form.
    for (const cookie of cookies) headers.push('Set-Cookie', cookie);
    return;
  }
  if (typeof headers === 'object' && headers !== null) {
    // Fastify passes its headers here; they override what setHeader() holds, so merge into them.
    const record = headers as Record<string, unknown>;
    const key = Object.keys(record).find((name) => name.toLowerCase() === 'set-cookie');
    if (key !== undefined) {
      record[key] = [...asList(record[key]), ...cookies];
      return;
    }
  }
  raw.setHeader('Set-Cookie', [...asList(raw.getHeader('set-cookie')), ...cookies]);
}

/** Whether the request reached the app over https (behind a proxy: as the platform's trust setting says). */
export function isSecureRequest(request: unknown): boolean {
  const r = request as { protocol?: unknown; socket?: { encrypted?: unknown } } | undefined;
  if (typeof r?.protocol === 'string') return r.protocol === 'https';
  return r?.socket?.encrypted === true;
}

/** The request a response belongs to: Express's `res.req`, Fastify's `reply.request`. */
export function requestOf(response: unknown): unknown {
  const r = response as { req?: unknown; request?: unknown } | undefined;
  return r?.request ?? r?.req;
}
