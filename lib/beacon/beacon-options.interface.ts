/** Per-client limit of the beacon endpoint (`RateLimiterMemory` of `rate-limiter-flexible`). */
export interface EsalesBeaconRateLimit {
  /** Posts one client IP may make per `durationS` seconds (1 to 100000). */
  points: number;
  /** The window, in seconds (1 to 86400). */
  durationS: number;
}

/**
 * The beacon endpoint: a path of the app that takes `navigator.sendBeacon` / `fetch` posts from the
 * shop's own pages (`{ kind, ticket }` or `{ kind, productKey, variantKey }`) and queues the
 * notification for the visitor of the request's Apptus cookies (or `resolveVisitor`). README
 * "Beacon endpoint".
 */
export interface EsalesBeaconOptions {
  /**
   * The path to serve, e.g. `/esales/notify`: `/` and segments of letters, digits, `.`, `_`, `~`
   * and `-` (no parameters or wildcards), at most 200 characters. Mounted as the app's middleware
   * are, so under its global prefix unless the prefix excludes it.
   */
  path: string;
  /**
   * Origins other than the app's own whose pages may post, e.g. `['https://www.example.com']`
   * (scheme, host and port, no path). Every other cross-origin post is answered 403.
   * @default [] (same-origin only)
   */
  allowedOrigins?: string[];
  /**
   * Largest body accepted, in bytes (64 to 65536); a longer one is answered 413.
   * @default 4096
   */
  maxBodyBytes?: number;
  /**
   * Posts per client IP: past it, 429 with `Retry-After`. `false` turns the endpoint's own limit
   * off (for an app that limits the path itself).
   * @default { points: 20, durationS: 10 }
   */
  rateLimit?: EsalesBeaconRateLimit | false;
}
