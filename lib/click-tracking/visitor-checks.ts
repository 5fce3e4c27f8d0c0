import { CustomerKeyAuthentication } from '../auth/customer-key-authentication.js';
import { describeError, isThenable } from '../common/app-code.js';
import type { RateLimitedLog } from '../common/rate-limited-log.js';
import type { ResolvedEsalesOptions } from '../config/resolve-esales-options.js';
import type { EsalesHttpRequest } from './click-tracking-options.interface.js';
import { visitorCookie, type CookieSecurity } from './visitor-cookies.js';

/*
 * The checks every tracked entry point makes of a visitor, whatever carried the notification (the
 * tracking interceptor on a route, the beacon endpoint): one copy, so both answer alike.
 */

/**
 * `consent(request)`: false, a throw or a promise (resolvers are synchronous) mean no cookie and no
 * notification for this request; a throw is warned about (rate-limited).
 */
export function consented(
  options: ResolvedEsalesOptions,
  warnings: RateLimitedLog,
  request: EsalesHttpRequest,
): boolean {
  const consent = options.clickTracking.consent;
  if (!consent) return true;
  try {
    const given: unknown = consent(request);
    if (isThenable(given)) {
      given.then(undefined, () => undefined);
      throw new Error('consent returned a promise: it must be synchronous');
    }
    return given === true;
  } catch (error) {
    warnings.warn(
      'consent',
      () => `Treated a request as not consented: consent threw: ${describeError(error)}`,
    );
    return false;
  }
}

/**
 * Whether a signed-in visitor's `token` is the market's signature of `customerKey`. Without a
 * private key there is nothing to check against: Elevate decides.
 */
export function tokenVerifies(
  options: ResolvedEsalesOptions,
  market: string,
  customerKey: string,
  token: unknown,
): boolean {
  const privateKey = options.privateKey(market);
  if (privateKey === undefined) return true;
  return (
    typeof token === 'string' && CustomerKeyAuthentication.verify(privateKey, customerKey, token)
  );
}

/** The `Set-Cookie` values for the ids a new visitor was given (none for a returning one). */
export function assignedVisitorCookies(
  options: ResolvedEsalesOptions,
  cookieSecurity: CookieSecurity,
  request: unknown,
  assigned: { readonly sessionKey?: string; readonly customerKey?: string },
): string[] {
  // The common case, a returning visitor: nothing to set (and Express's `protocol` getter unread).
  if (!assigned.sessionKey && !assigned.customerKey) return [];
  const { cookieNames, cookieDomain } = options.clickTracking;
  const attributes = {
    secure: cookieSecurity.secure(request),
    ...(cookieDomain ? { domain: cookieDomain } : {}),
  };
  const cookies: string[] = [];
  if (assigned.sessionKey) {
    cookies.push(visitorCookie(cookieNames.sessionKey, assigned.sessionKey, attributes));
  }
  if (assigned.customerKey) {
    cookies.push(visitorCookie(cookieNames.customerKey, assigned.customerKey, attributes));
  }
  return cookies;
}
