/*
 * The field rules every notification kind shares: one copy of each limit and pattern, used by the
 * DTOs, the fast paths and the configuration's market names.
 */

/** Longest accepted market name. */
export const MAX_MARKET_LENGTH = 100;
/** Longest accepted customer key, session key or notification id. */
export const MAX_KEY_LENGTH = 256;
/** Longest accepted product or variant key. */
export const MAX_PRODUCT_KEY_LENGTH = 512;
/** Longest accepted ticket: Elevate's tickets are opaque, and a few hundred characters long. */
export const MAX_TICKET_LENGTH = 4096;

/** Matches strings free of C0/C1 control characters (header and log injection material). */
export const NO_CONTROL_CHARACTERS = /^\P{Cc}*$/u;
/** The DTOs' message for `NO_CONTROL_CHARACTERS`; never echoes the value. */
export const NO_CONTROL_CHARACTERS_MESSAGE = '$property must not contain control characters';
/**
 * Market names also refuse format characters (bidi overrides, zero-width characters), line and
 * paragraph separators and lone surrogates: a market name is printed in warnings and is a metric
 * attribute, so it must not be able to reorder or split a log line.
 */
export const MARKET_NAME_CHARACTERS = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]*$/u;
/** The DTOs' message for `MARKET_NAME_CHARACTERS`. */
export const MARKET_NAME_CHARACTERS_MESSAGE =
  '$property must not contain control or format characters or line separators';

/** A market name the DTO accepts: non-empty, at most `MAX_MARKET_LENGTH`, only plain characters. */
export const isMarketName = (value: unknown): value is string =>
  isPlainString(value, MAX_MARKET_LENGTH) && MARKET_NAME_CHARACTERS.test(value);

/** A customer-key token: 64 hex digits (HMAC-SHA256). */
export const TOKEN_PATTERN = /^[0-9a-fA-F]{64}$/;
/** Elevate's own wording for its 400 answer to a product-keyed notification without a key. */
export const PRODUCT_KEY_MISSING = 'Product key is missing.';
/** Elevate's own wording for its 400 answer to a ticket notification without a ticket. */
export const TICKET_MISSING = 'Ticket is missing.';

/** Undefined or null: "not given". */
export const isAbsent = (value: unknown): value is null | undefined =>
  value === undefined || value === null;

/** C0 and C1 control characters: what `NO_CONTROL_CHARACTERS` (`\p{Cc}`) forbids. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * A non-empty string of at most `max` UTF-16 units without control characters. class-validator's
 * `MaxLength` counts a surrogate pair as one character, so this never accepts what it would refuse.
 */
export const isPlainString = (value: unknown, max: number): value is string =>
  typeof value === 'string' &&
  value.length > 0 &&
  value.length <= max &&
  !CONTROL_CHARACTER.test(value);

/** Absent, or a token the DTO accepts. */
export const isAbsentOrToken = (value: unknown): boolean =>
  isAbsent(value) || (typeof value === 'string' && TOKEN_PATTERN.test(value));
