import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { EsalesArgumentError } from '../errors/esales-argument.error.js';
import {
  AddingToCart,
  Click,
  NonEsalesAddingToCart,
  NonEsalesClick,
} from '../notifications/index.js';
import type { NotificationKind } from '../notifications/notification-kind.js';
import type {
  EsalesTrackingOptions,
  TrackAddToCartOptions,
  TrackClickOptions,
  TrackNonEsalesClickOptions,
} from './click-tracking-options.interface.js';
import { ESALES_TRACK_CLICK, type TrackingMetadata } from './click-tracking.constants.js';
import { EsalesClickInterceptor } from './esales-click.interceptor.js';

/*
 * The tracking decorators. Each sends a notification when the route (or every route of the
 * controller) completes with a status below 400: queued once the response has gone out, never
 * awaited, so the request never waits for Elevate. Each applies `EsalesClickInterceptor` itself;
 * registering the interceptor globally as well does not send twice. Options that could never yield
 * a notification throw an `EsalesArgumentError` when the decorator is evaluated, so at boot.
 */

/**
 * Sends a non-eSales click (`non-esales-click`) from the route's product and/or variant key.
 *
 * @example
 * ```ts
 * @Get('products/:productKey/redirect')
 * @Redirect()
 * @TrackNonEsalesClick({ productKey: 'productKey', variantKey: { query: 'variant' } })
 * redirect(@Param('productKey') productKey: string) {
 *   return { url: this.catalog.pageOf(productKey) };
 * }
 * ```
 */
export function TrackNonEsalesClick(
  options: TrackNonEsalesClickOptions,
): ReturnType<typeof applyDecorators> {
  return tracking('@TrackNonEsalesClick', undefined, NonEsalesClick, options, [
    'productKey',
    'variantKey',
    'market',
  ]);
}

/**
 * Sends a click for every product link through one redirect route: `click` when the request carries
 * a ticket (a product from an Elevate panel), otherwise `non-esales-click` from the product and
 * variant keys. A request with neither is skipped and counted as `invalid`.
 *
 * @example
 * ```ts
 * @Get('products/:productKey/redirect')
 * @Redirect()
 * @TrackClick({ ticket: { query: 'ticket' }, productKey: 'productKey' })
 * redirect(@Param('productKey') productKey: string) {
 *   return { url: this.catalog.pageOf(productKey) };
 * }
 * ```
 */
export function TrackClick(options: TrackClickOptions): ReturnType<typeof applyDecorators> {
  return tracking('@TrackClick', Click, NonEsalesClick, options, SOURCES);
}

/**
 * Sends an adding to cart from a backend cart route (typically `POST`): `adding-to-cart` when the
 * request carries a ticket, otherwise `non-esales-adding-to-cart` from the product and variant keys.
 *
 * @example
 * ```ts
 * @Post('cart/items')
 * @TrackAddToCart({ ticket: { body: 'ticket' }, productKey: { body: 'productKey' } })
 * add(@Body() item: CartItemDto) {
 *   return this.cart.add(item);
 * }
 * ```
 */
export function TrackAddToCart(options: TrackAddToCartOptions): ReturnType<typeof applyDecorators> {
  return tracking('@TrackAddToCart', AddingToCart, NonEsalesAddingToCart, options, SOURCES);
}

const SOURCES = ['ticket', 'productKey', 'variantKey', 'market'] as const;
type SourceName = (typeof SOURCES)[number];

function tracking(
  decorator: string,
  withTicket: NotificationKind | undefined,
  withoutTicket: NotificationKind,
  options: EsalesTrackingOptions,
  allowed: readonly SourceName[],
): ReturnType<typeof applyDecorators> {
  checkTrackingOptions(decorator, options, allowed);
  const metadata: TrackingMetadata = Object.freeze({
    decorator,
    // Without a ticket source, every request is a non-eSales one.
    withTicket: options.ticket === undefined ? undefined : withTicket,
    withoutTicket:
      options.productKey === undefined && options.variantKey === undefined
        ? undefined
        : withoutTicket,
    sources: Object.freeze({ ...options }),
  });
  return applyDecorators(
    SetMetadata(ESALES_TRACK_CLICK, metadata),
    UseInterceptors(EsalesClickInterceptor),
  );
}

/** Options that can never yield a notification are a programming error: fail at boot. */
function checkTrackingOptions(
  decorator: string,
  options: EsalesTrackingOptions,
  allowed: readonly SourceName[],
): void {
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null) {
    problems.push('options must be an object');
  } else {
    for (const key of Object.keys(options)) {
      if (!(allowed as readonly string[]).includes(key)) problems.push(`"${key}" is not an option`);
    }
    const keys = allowed.filter((key) => key !== 'market');
    if (keys.every((key) => options[key] === undefined)) {
      problems.push(
        keys.length === 2
          ? 'give productKey, variantKey or both'
          : `give ${keys.join(', ')} or several`,
      );
    }
    for (const key of allowed) {
      const source: unknown = options[key];
      if (source !== undefined && !isSource(source)) {
        problems.push(
          `${key} must be a route parameter name, { param: name }, { query: name }, ` +
            '{ body: name } or a function',
        );
      }
    }
  }
  if (problems.length > 0) {
    throw new EsalesArgumentError(`${decorator}(): ${problems.join('; ')}`);
  }
}

function isSource(source: unknown): boolean {
  if (typeof source === 'function') return true;
  if (typeof source === 'string') return source.length > 0;
  if (typeof source !== 'object' || source === null) return false;
  const entries = Object.entries(source);
  return (
    entries.length === 1 &&
    (entries[0]?.[0] === 'param' || entries[0]?.[0] === 'query' || entries[0]?.[0] === 'body') &&
    typeof entries[0][1] === 'string' &&
    entries[0][1].length > 0
  );
}
