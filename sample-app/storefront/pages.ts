import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse } from 'cookie';
// In your own app: `from 'nestjs-esales'`.
import { CustomerKeyAuthentication, DEFAULT_COOKIE_NAMES } from '../../lib/index.js';
import type { Product } from '../products/catalog.service.js';
import { beaconPath } from './beacon.js';
import { html, type SafeHtml } from './html.js';

/**
 * The storefront's pages: plain server-rendered HTML, every interpolated value escaped by `html`,
 * no external assets. The behaviour (add to cart, checkout, the beacon) is in `/storefront.js`,
 * served by the app itself, so the pages can forbid inline script (see `CONTENT_SECURITY_POLICY`).
 */

/** Scripts, styles, requests and forms only from the app itself; nothing inline, no frames. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  // fetch() to the cart and checkout routes, and navigator.sendBeacon() to the beacon endpoint.
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Whether the request asks for a page (a browser navigating) rather than JSON. */
export function wantsHtml(request: IncomingMessage): boolean {
  return /\btext\/html\b/i.test(request.headers.accept ?? '');
}

/** The headers every storefront page is sent with. */
export function setPageHeaders(response: ServerResponse): void {
  response.setHeader('content-type', 'text/html; charset=utf-8');
  response.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  response.setHeader('cache-control', 'no-store');
  response.setHeader('x-content-type-options', 'nosniff');
  response.setHeader('referrer-policy', 'same-origin');
}

/**
 * An Elevate-style ticket for a product shown in a panel. Elevate hands these out with its panel
 * results; the sample makes them up in the same shape (base64 of `;/<productKey>;;<panel>;<rank>;`).
 */
export function ticketFor(product: Product, panel: string, rank: number): string {
  return Buffer.from(`;/${product.key};;${panel};${rank};`).toString('base64url');
}

const money = (amount: number): string => `£${amount.toFixed(2)}`;

/** The visitor in the request's Apptus cookies, as the page shows it. */
interface VisitorView {
  sessionKey: string | undefined;
  customerKey: string | undefined;
  signedIn: boolean;
}

function visitorOf(request: IncomingMessage): VisitorView {
  const cookies = parse(request.headers.cookie ?? '');
  const sessionKey = cookies[DEFAULT_COOKIE_NAMES.sessionKey] || undefined;
  const customerKey = cookies[DEFAULT_COOKIE_NAMES.customerKey] || undefined;
  const signedIn =
    customerKey !== undefined && CustomerKeyAuthentication.isSignedInCustomerKey(customerKey);
  return { sessionKey, customerKey, signedIn };
}

/** A path on this site to come back to after signing in or out: the page's own path and query. */
function returnPath(request: IncomingMessage): string {
  const path = request.url ?? '/';
  return path.startsWith('/') && !path.startsWith('//') ? path : '/';
}

function account(visitor: VisitorView, returnTo: string): SafeHtml {
  if (visitor.signedIn) {
    return html`<form class="account" method="post" action="/storefront/sign-out">
      <span class="who" data-signed-in
        >Signed in · customer key <code>${visitor.customerKey?.slice(0, 12)}…</code></span
      >
      <input type="hidden" name="returnTo" value="${returnTo}" />
      <button type="submit" data-sign-out>Sign out</button>
    </form>`;
  }
  // Stands in for your login form: the visitor id would be your user's id, not something typed in.
  return html`<form class="account" method="post" action="/storefront/sign-in">
    <label
      >Visitor id
      <input name="visitorId" value="${randomUUID()}" size="36" maxlength="256" required
    /></label>
    <input type="hidden" name="returnTo" value="${returnTo}" />
    <button type="submit" data-sign-in>Sign in</button>
  </form>`;
}

function visitorPanel(visitor: VisitorView): SafeHtml {
  const key = (value: string | undefined) =>
    value ? html`<code>${value}</code>` : html`<em>none yet: the first tracked click sets it</em>`;
  return html`<section class="visitor" aria-label="Your Elevate visitor">
    <h2>Your Elevate visitor</h2>
    <dl>
      <dt>apptus.sessionKey</dt>
      <dd data-session-key>${key(visitor.sessionKey)}</dd>
      <dt>apptus.customerKey</dt>
      <dd data-customer-key>
        ${key(visitor.customerKey)}
        ${
          visitor.customerKey
            ? visitor.signedIn
              ? ' (signed in: SHA-256 of the visitor id)'
              : ' (anonymous)'
            : ''
        }
      </dd>
    </dl>
    <p>
      What Elevate received: <a href="/_esales-stand-in/notifications">the stand-in's log</a> and
      <a href="/_esales-stand-in/stats">the sender's stats</a> (while the embedded stand-in runs).
    </p>
  </section>`;
}

function layout(request: IncomingMessage, title: string, content: SafeHtml): string {
  const visitor = visitorOf(request);
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · nestjs-esales sample shop</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/storefront.css" />
        <script src="/storefront.js" defer></script>
      </head>
      <body data-beacon-path="${beaconPath() ?? ''}">
        <header class="top">
          <a class="brand" href="/">Sample shop</a>
          <nav>
            <a href="/">Products</a>
            <a href="/cart" data-cart-link>Cart (<span data-cart-count>0</span>)</a>
          </nav>
          ${account(visitor, returnPath(request))}
        </header>
        <main>${content}</main>
        <footer>${visitorPanel(visitor)}</footer>
      </body>
    </html>`.markup;
}

/** A product card; `href` is where its link goes, `ticket` (if any) is reported by the beacon. */
function card(product: Product, href: string, note: string, beaconTicket?: string): SafeHtml {
  return html`<li class="card">
    <a
      href="${href}"
      data-product="${product.key}"
      ${beaconTicket ? html`data-ticket="${beaconTicket}"` : ''}
    >
      <span class="swatch" aria-hidden="true">${product.name.slice(0, 1)}</span>
      <span class="name">${product.name}</span>
      <span class="price">${money(product.price)}</span>
    </a>
    <span class="note">${note}</span>
  </li>`;
}

const redirectLink = (product: Product, query: Record<string, string> = {}): string => {
  const search = new URLSearchParams(query).toString();
  return `/products/${encodeURIComponent(product.key)}/redirect${search ? `?${search}` : ''}`;
};

/**
 * `GET /`: three ways a product link reaches Elevate.
 * - "All products", your own listing: links through the tracked redirect, no ticket
 *   (`non-esales-click`);
 * - "Top sellers", an Elevate panel: links through the redirect with the product's ticket (`click`);
 * - "Recommended for you", an Elevate panel in the page: the link goes straight to the product page
 *   and the page reports the click with `navigator.sendBeacon()` to the beacon endpoint (`click`).
 *   Without a beacon endpoint these links go through the redirect with the ticket, like top sellers.
 */
export function homePage(request: IncomingMessage, products: readonly Product[]): string {
  const beacon = beaconPath();
  const topSellers = products.filter((product) => product.key !== 'P_555452-0446_UK');
  const recommended = [...products].reverse();
  const content = html`<h1>Sample shop</h1>
    <p class="lead">
      Every click below reaches Elevate from the server (the embedded stand-in, unless you
      configured a cluster). The Apptus cookies the first click sets are readable by the page, as
      Elevate's browser library needs.
    </p>
    <section aria-labelledby="all-products">
      <h2 id="all-products">All products</h2>
      <p class="how">Your own listing: <code>/products/…/redirect</code>, a non-esales-click.</p>
      <ul class="cards" data-panel="all-products">
        ${products.map((product) => card(product, redirectLink(product), 'non-esales-click'))}
      </ul>
      <p class="variants">
        Straight to a variant:
        ${products.flatMap((product) =>
          product.variants.map(
            (variant) =>
              html`<a href="${redirectLink(product, { variant })}" data-variant="${variant}"
                >${variant}</a
              > `,
          ),
        )}
      </p>
    </section>
    <section aria-labelledby="top-sellers">
      <h2 id="top-sellers">Top sellers</h2>
      <p class="how">
        An Elevate panel: each link carries the product's <code>?ticket=</code>, a click.
      </p>
      <ul class="cards" data-panel="top-sellers">
        ${topSellers.map((product, index) => {
          const ticket = ticketFor(product, 'panel-top', index + 1);
          return card(product, redirectLink(product, { ticket }), 'click (ticket)');
        })}
      </ul>
    </section>
    <section aria-labelledby="recommended">
      <h2 id="recommended">Recommended for you</h2>
      <p class="how">
        ${
          beacon
            ? html`An Elevate panel in the page: the click is posted with
                <code>navigator.sendBeacon('${beacon}')</code>, the link goes straight to the
                product.`
            : html`An Elevate panel; this nestjs-esales has no beacon endpoint, so the links go
              through the redirect with their ticket.`
        }
      </p>
      <ul class="cards strip" data-panel="recommended">
        ${recommended.map((product, index) => {
          const ticket = ticketFor(product, 'panel-recommended', index + 1);
          const page = `/products/${encodeURIComponent(product.key)}?${new URLSearchParams({ ticket }).toString()}`;
          return beacon
            ? card(product, page, 'click (beacon)', ticket)
            : card(product, redirectLink(product, { ticket }), 'click (ticket)');
        })}
      </ul>
    </section>`;
  return layout(request, 'Products', content);
}

/**
 * The product page the redirect lands on. "Add to cart" posts the product (the variant chosen, and
 * the ticket of the panel the visitor came from, if any) to `POST /cart/items`, whose
 * `@TrackAddToCart()` sends the notification: the page sends nothing itself.
 */
export function productPage(
  request: IncomingMessage,
  product: Product,
  variant: string | null,
  ticket: string | null,
): string {
  const content = html`<p><a href="/">← All products</a></p>
    <article class="product" data-product="${product.key}">
      <span class="swatch big" aria-hidden="true">${product.name.slice(0, 1)}</span>
      <div>
        <h1>${product.name}</h1>
        <p class="price">${money(product.price)}</p>
        <p class="key">Product key <code>${product.key}</code></p>
        <form
          class="add"
          data-add-to-cart
          data-product-key="${product.key}"
          data-name="${product.name}"
          data-price="${product.price}"
          data-ticket="${ticket ?? ''}"
        >
          ${
            product.variants.length > 0
              ? html`<label
                  >Variant
                  <select name="variantKey">
                    ${product.variants.map(
                      (key) =>
                        html`<option value="${key}" ${key === variant ? html`selected` : ''}>
                          ${key}
                        </option>`,
                    )}
                  </select></label
                >`
              : ''
          }
          <label>Quantity <input name="quantity" type="number" min="1" max="99" value="1" /></label>
          <button type="submit">Add to cart</button>
          <p class="status" role="status" data-status></p>
        </form>
        <p class="how">
          ${
            ticket
              ? html`You came from an Elevate panel: adding sends <code>adding-to-cart</code> with
                  its ticket.`
              : html`Adding sends <code>non-esales-adding-to-cart</code> with the product and
                  variant keys.`
          }
        </p>
      </div>
    </article>`;
  return layout(request, product.name, content);
}

/**
 * `GET /cart`: the lines the product pages stored in the browser (the sample keeps no cart on the
 * server), and "Place order", which posts them to `POST /checkout`: a `payment` for the visitor.
 */
export function cartPage(request: IncomingMessage): string {
  const content = html`<h1>Cart</h1>
    <section data-cart>
      <table class="lines">
        <thead>
          <tr>
            <th>Product</th>
            <th>Variant</th>
            <th>Quantity</th>
            <th>Price</th>
          </tr>
        </thead>
        <tbody data-cart-lines></tbody>
        <tfoot>
          <tr>
            <th colspan="3">Total</th>
            <td data-cart-total>£0.00</td>
          </tr>
        </tfoot>
      </table>
      <p class="empty" data-cart-empty>The cart is empty.</p>
      <button type="button" data-checkout disabled>Place order</button>
      <p class="status" role="status" data-status></p>
      <p class="how">
        Placing the order posts it to <code>/checkout</code>, which sends Elevate a signed
        <code>payment</code> for the visitor in your Apptus cookies (once per order id).
      </p>
    </section>`;
  return layout(request, 'Cart', content);
}
