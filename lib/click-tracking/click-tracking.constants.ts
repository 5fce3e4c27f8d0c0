/** Metadata key of `@TrackNonEsalesClick()`'s options. */
export const ESALES_TRACK_CLICK = 'nestjs-esales:track-non-esales-click';

/**
 * Marks a request whose click an interceptor has taken on, so the decorator's interceptor and a
 * globally registered one never both send. A registry symbol: it must match across package copies.
 */
export const ESALES_CLICK_CLAIMED: unique symbol = Symbol.for('nestjs-esales.click-claimed');
