import { parse, serialize as serializeCookie, type SerializeOptions } from 'cookie';
import { describeError } from '../common/app-code.js';
import { EsalesConfigError } from '../errors/esales-config.error.js';
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

/**
 * `cookie.serialize`, whose `TypeError`s (a name or domain it refuses) become an `EsalesConfigError`:
 * boot validation applies the same rules, so this is a backstop, never a raw 500.
 */
function serialize(name: string, value: string, options: SerializeOptions): string {
  try {
    return serializeCookie(name, value, options);
  } catch (error) {
    throw new EsalesConfigError([`cannot set the cookie ${name}: ${describeError(error)}`]);
  }
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

/** The name and value of a `Set-Cookie` line; undefined for a line without `=`. */
export function setCookieNameValue(line: string): { name: string; value: string } | undefined {
  const end = line.indexOf(';');
  const pair = end === -1 ? line : line.slice(0, end);
  const equals = pair.indexOf('=');
  if (equals === -1) return undefined;
  const raw = pair.slice(equals + 1).trim();
  let value = raw;
  try {
    value = decodeURIComponent(raw);
  } catch {
    // Not percent-encoded the way `serialize` would: keep it as it is.
  }
  return { name: pair.slice(0, equals).trim(), value };
}

/**
 * Runs `decide` at the moment the response's status line is written, if that status is below 400,
 * with the `Set-Cookie` lines the response is about to send; adds the lines `decide` returns.
 * Whatever the handler does — `@Redirect()`, `res.redirect()`, an exception turned into a 404 by a
 * filter — this sees the final status and the app's own cookies. Every platform ends in `writeHead`
 * (Node's implicit headers call it too), so this is the one place where the final status is known
 * and headers can still change.
 */
export function onSuccessfulHead(
  raw: RawResponse,
  decide: (appSetCookies: readonly string[]) => readonly string[],
): void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- restored and called with `this`
  const writeHead = raw.writeHead;
  raw.writeHead = function (this: RawResponse, statusCode: number, ...rest: unknown[]) {
    raw.writeHead = writeHead;
    try {
      if (statusCode < 400) addToWriteHead(raw, rest, decide);
    } catch {
      // Tracking never breaks the response: without its cookies it goes out as the app made it.
    }
    return writeHead.call(this, statusCode, ...rest);
  };
}

/** Merges the cookies `decide` wants into what `writeHead(status, [reason], [headers])` will write. */
function addToWriteHead(
  raw: RawResponse,
  rest: unknown[],
  decide: (appSetCookies: readonly string[]) => readonly string[],
): void {
  const headers = rest[typeof rest[0] === 'string' ? 1 : 0];
  if (Array.isArray(headers)) {
    // The flat [name, value, name, value, …] form. Node lets the names in it replace what
    // setHeader() holds: join the array only when it sets cookies itself, else keep to setHeader().
    const existing: string[] = [];
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === 'set-cookie') {
        existing.push(...asList(headers[i + 1]));
      }
    }
    if (existing.length > 0) {
      for (const cookie of decide(existing)) headers.push('Set-Cookie', cookie);
      return;
    }
  }
  if (typeof headers === 'object' && headers !== null) {
    // Fastify passes its headers here; they override what setHeader() holds, so merge into them.
    const record = headers as Record<string, unknown>;
    const key = Object.keys(record).find((name) => name.toLowerCase() === 'set-cookie');
    if (key !== undefined) {
      const existing = asList(record[key]);
      const cookies = decide(existing);
      if (cookies.length > 0) record[key] = [...existing, ...cookies];
      return;
    }
  }
  const existing = asList(raw.getHeader('set-cookie'));
  const cookies = decide(existing);
  if (cookies.length > 0) raw.setHeader('Set-Cookie', [...existing, ...cookies]);
}

/** Whether a request looks as if the visitor came over https, whatever the platform was told to trust. */
function looksHttps(request: unknown): boolean {
  if (process.env['NODE_ENV'] === 'production') return true;
  const headers = (request as { headers?: Record<string, unknown> } | undefined)?.headers;
  const forwarded = headers?.['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded) as unknown;
  return typeof first === 'string' && first.split(',')[0]?.trim().toLowerCase() === 'https';
}

/**
 * The `Secure` attribute of the cookies this package sets: `cookieSecure` `true` or `false` as
 * configured, or with `'auto'` the request's protocol as the platform reports it. With `'auto'` it
 * warns once when cookies go out without `Secure` from what looks like an https deployment
 * (`NODE_ENV=production`, or an `X-Forwarded-Proto: https` the platform was not told to trust).
 */
export class CookieSecurity {
  private warned = false;

  constructor(
    private readonly setting: 'auto' | boolean,
    private readonly warn: (message: string) => void,
  ) {}

  secure(request: unknown): boolean {
    if (this.setting !== 'auto') return this.setting;
    const secure = isSecureRequest(request);
    if (!secure && !this.warned && looksHttps(request)) {
      this.warned = true;
      this.warn(
        'Setting the Apptus cookies without Secure, though this looks like an https deployment ' +
          "(NODE_ENV=production or X-Forwarded-Proto: https): behind a TLS proxy, enable Express's " +
          "'trust proxy' or Fastify's trustProxy, or set cookieSecure: true (ESALES_COOKIE_SECURE=true)",
      );
    }
    return secure;
  }
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
