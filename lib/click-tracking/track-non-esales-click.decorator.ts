import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import type { TrackNonEsalesClickOptions } from './click-tracking-options.interface.js';
import { EsalesClickInterceptor } from './esales-click.interceptor.js';
import { ESALES_TRACK_CLICK } from './click-tracking.constants.js';
import { EsalesArgumentError } from '../errors/esales-argument.error.js';

/**
 * Sends a non-eSales click notification each time the route (or every route of the controller)
 * completes successfully with a status below 400: queued once the response has gone out, never
 * awaited, so the request never waits for Elevate. Applies `EsalesClickInterceptor` itself; registering the interceptor
 * globally as well does not send twice.
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
 * @throws EsalesArgumentError (when the decorator is evaluated, so at boot) for options that could
 * never yield a click: neither `productKey` nor `variantKey`, or a source of the wrong shape.
 */
export function TrackNonEsalesClick(
  options: TrackNonEsalesClickOptions,
): ReturnType<typeof applyDecorators> {
  checkTrackingOptions(options);
  return applyDecorators(
    SetMetadata(ESALES_TRACK_CLICK, Object.freeze({ ...options })),
    UseInterceptors(EsalesClickInterceptor),
  );
}

const SOURCES = ['productKey', 'variantKey', 'market'] as const;

/** Options that can never yield a click are a programming error: fail at boot, not per request. */
function checkTrackingOptions(options: TrackNonEsalesClickOptions): void {
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null) {
    problems.push('options must be an object');
  } else {
    for (const key of Object.keys(options)) {
      if (!(SOURCES as readonly string[]).includes(key)) problems.push(`"${key}" is not an option`);
    }
    if (options.productKey === undefined && options.variantKey === undefined) {
      problems.push('give productKey, variantKey or both');
    }
    for (const key of SOURCES) {
      const source: unknown = options[key];
      if (source !== undefined && !isSource(source)) {
        problems.push(
          `${key} must be a route parameter name, { param: name }, { query: name } or a function`,
        );
      }
    }
  }
  if (problems.length > 0) {
    throw new EsalesArgumentError(`@TrackNonEsalesClick(): ${problems.join('; ')}`);
  }
}

function isSource(source: unknown): boolean {
  if (typeof source === 'function') return true;
  if (typeof source === 'string') return source.length > 0;
  if (typeof source !== 'object' || source === null) return false;
  const entries = Object.entries(source);
  return (
    entries.length === 1 &&
    (entries[0]?.[0] === 'param' || entries[0]?.[0] === 'query') &&
    typeof entries[0][1] === 'string' &&
    entries[0][1].length > 0
  );
}
