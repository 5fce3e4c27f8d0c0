/**
 * The HTTP request as the platform hands it to Nest: Express's `Request` or Fastify's
 * `FastifyRequest`. Typed loosely so the package depends on neither.
 */
export interface EsalesHttpRequest {
  /** Request headers, lower-cased names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** HTTP method, e.g. `GET`. */
  readonly method?: string;
  /** Route parameters. */
  readonly params?: unknown;
  /** Parsed query string; a repeated parameter is an array. */
  readonly query?: unknown;
  /** `http` or `https`, as the platform reports it (mind `trust proxy` behind a TLS proxy). */
  readonly protocol?: string;
  /** Apps' own fields (`user`, …) are read by their own resolvers. */
  readonly [key: string]: unknown;
}

/** Reads one value of a tracked notification from the request. */
export type EsalesValueSource =
  /** A route parameter, e.g. `'productKey'` for `/products/:productKey/redirect`. */
  | string
  /** A route parameter, spelled out. */
  | { readonly param: string }
  /** A query-string parameter, e.g. `{ query: 'variant' }` for `?variant=…`. */
  | { readonly query: string }
  /**
   * A field of the parsed JSON body (own properties of a plain object only), e.g.
   * `{ body: 'productKey' }` on a `POST /cart/items`.
   */
  | { readonly body: string }
  /** Anything else; return null or undefined for "none". Must be synchronous. */
  | ((request: EsalesHttpRequest) => string | null | undefined);

/** The former name of `EsalesValueSource`. */
export type EsalesClickValueSource = EsalesValueSource;

/** Options of `@TrackNonEsalesClick()`. Give `productKey`, `variantKey`, or both. */
export interface TrackNonEsalesClickOptions {
  /** Where the product key comes from. */
  productKey?: EsalesValueSource;
  /** Where the variant key comes from. */
  variantKey?: EsalesValueSource;
  /**
   * Where the market comes from.
   * @default the module's `resolveMarket`, then `defaultMarket`
   */
  market?: EsalesValueSource;
}

/**
 * Options of `@TrackClick()` and `@TrackAddToCart()`: give at least one of `ticket`, `productKey`
 * and `variantKey`. A request that carries a ticket sends the ticket notification (`click`,
 * `adding-to-cart`); one without sends the non-eSales one from the product and variant keys.
 */
export interface EsalesTrackingOptions extends TrackNonEsalesClickOptions {
  /** Where the ticket comes from, e.g. `{ query: 'ticket' }`. */
  ticket?: EsalesValueSource;
}

/** Options of `@TrackClick()`. */
export type TrackClickOptions = EsalesTrackingOptions;
/** Options of `@TrackAddToCart()`. */
export type TrackAddToCartOptions = EsalesTrackingOptions;

/** A visitor's Elevate identity. */
export interface EsalesVisitor {
  /** A UUID for anonymous visitors; the SHA-256 hex customer key once signed in. */
  customerKey: string;
  /** The session's UUID; the `apptus.sessionKey` cookie (or a fresh one) when absent. */
  sessionKey?: string;
  /** The customer-key token of a signed-in visitor. */
  token?: string | null;
}

/** Names of the cookies shared with Elevate's browser library. */
export interface EsalesCookieNames {
  /** @default 'apptus.sessionKey' */
  sessionKey?: string;
  /** @default 'apptus.customerKey' */
  customerKey?: string;
  /** @default 'apptus.token' */
  token?: string;
}

/** Module options that shape click tracking (part of `EsalesModuleOptions`). */
export interface EsalesClickTrackingOptions {
  /**
   * Market of a tracked click when the decorator names none. Return undefined for `defaultMarket`.
   * Must be synchronous.
   * @default undefined (every click is for `defaultMarket`)
   */
  resolveMarket?: (request: EsalesHttpRequest) => string | null | undefined;
  /**
   * The visitor's identity from the app's own auth (`request.user`): for a signed-in visitor,
   * `new CustomerKeyAuthentication(privateKeyOf(market), user.internalId)` gives the customer key and
   * token. Return undefined to fall back to the cookies. Must be synchronous.
   * @default undefined (cookies only)
   */
  resolveVisitor?: (request: EsalesHttpRequest, market: string) => EsalesVisitor | null | undefined;
  /**
   * Give a visitor without the Apptus cookies (arriving from an e-mail, say) fresh ids on the
   * redirect response, so the browser continues as the visitor the click was sent for.
   * @default true
   */
  assignVisitorCookies?: boolean;
  /**
   * Skip requests whose user agent `isbot` recognises, or that send none (counted in
   * `getStats().skippedBy.bot`).
   * @default true
   */
  ignoreBots?: boolean;
  /** Names of the Apptus cookies. @default the names Elevate's browser library uses */
  cookieNames?: EsalesCookieNames;
  /**
   * `Domain` attribute of the cookies the package sets, e.g. `.example.com` to share them across
   * sub-domains.
   * @default undefined (host-only cookies)
   */
  cookieDomain?: string;
}
