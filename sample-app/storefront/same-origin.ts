import { ForbiddenException } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';

/** Characters a browser drops or misreads in a URL (tab, newline, other controls, DEL). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * A path on this site, else `/`: starts with one `/` (never `//host` or `/\host`, which browsers
 * read as another site), holds no control characters (browsers drop tabs and newlines, so
 * `/\t/evil.example` would become `//evil.example`), and resolves to this site.
 */
export function safeReturnPath(returnTo: string | undefined): string {
  if (!returnTo || !/^\/(?![/\\])/.test(returnTo) || CONTROL.test(returnTo)) return '/';
  try {
    const base = 'http://x';
    return new URL(returnTo, base).origin === base ? returnTo : '/';
  } catch {
    return '/';
  }
}

const single = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? undefined : value?.trim();

/**
 * Whether a post may have been made by another site's page: the browser's `Sec-Fetch-Site` says
 * so when it is sent (`same-origin`, or `none` for a user's own navigation, pass); without it (an
 * older browser), an `Origin` other than the request's own host (or `Origin: null`) does. A client
 * that sends neither (curl, a server, node's `fetch`) is no browser a page could drive, and passes.
 */
export function isCrossSitePost(request: IncomingMessage): boolean {
  const site = single(request.headers['sec-fetch-site'])?.toLowerCase();
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = single(request.headers.origin);
  if (origin === undefined) return false;
  const host = single(request.headers.host)?.toLowerCase();
  try {
    return !host || new URL(origin).host !== host;
  } catch {
    return true; // `null`, or no URL at all
  }
}

/** Refuses a post another site made the browser send (login CSRF), as `isCrossSitePost` says. */
export function requireSameOrigin(request: IncomingMessage): void {
  if (isCrossSitePost(request)) {
    throw new ForbiddenException('Only posts from this site are accepted.');
  }
}
