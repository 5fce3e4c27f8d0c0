import { randomUUID } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import {
  MAX_KEY_LENGTH,
  MAX_MARKET_LENGTH,
  MAX_PRODUCT_KEY_LENGTH,
  NonEsalesClickNotificationDto,
} from '../dto/non-esales-click-notification.dto.js';
import type { EsalesValidationProblem } from '../errors/esales-validation.error.js';

/** What the app passes to `EsalesNotificationService.sendNonEsalesClick`. */
export interface NonEsalesClickNotification {
  /** The visitor's market; the module's `defaultMarket` when absent. */
  market?: string;
  /** Visitor id: a UUID for anonymous visitors, a SHA-256 hex for signed-in ones. */
  customerKey: string;
  /** Session id, a UUID. */
  sessionKey: string;
  /** Unique id of this notification; a UUID is generated when absent. */
  id?: string;
  /** Customer-key token, only for signed-in visitors; left out of the request when absent. */
  token?: string | null;
  /** The product's key; give this, `variantKey`, or both. */
  productKey?: string | null;
  /** The variant's key. */
  variantKey?: string | null;
}

/** A notification that passed validation, with its `id` fixed and its exact request body. */
export interface PreparedNotification {
  readonly market: string;
  readonly id: string;
  /** The JSON body, serialised once so every attempt sends the same bytes. */
  readonly body: string;
  /** Kept only to scrub it from anything Elevate echoes back; never logged. */
  readonly token: string | undefined;
  /** Kept for delivery events and (masked) log lines. */
  readonly customerKey: string;
  readonly productKey: string | null;
  readonly variantKey: string | null;
}

const isAbsent = (value: unknown): value is null | undefined =>
  value === undefined || value === null;

function problemsOf(errors: readonly ValidationError[]): EsalesValidationProblem[] {
  return errors.map((error) => ({
    field: error.property,
    messages: Object.values(error.constraints ?? {}),
  }));
}

/**
 * Validates a notification against `NonEsalesClickNotificationDto` and serialises it with exactly the
 * documented fields, in the documented order. Pure apart from generating the `id`.
 *
 * Click tracking calls this on every tracked request, and class-transformer + class-validator cost
 * about 19 µs a call, as much as a third of the POST itself. So plain string fields are checked
 * first by `acceptedByDto`, a stricter copy of the DTO's rules (about 1 µs with the serialising); whatever it does not
 * accept — every invalid notification and a few odd valid ones — goes through the DTO, which stays
 * the one source of the rules and of the error messages.
 */
export function prepareNonEsalesClick(
  input: unknown,
  defaultMarket: string,
): PreparedNotification | EsalesValidationProblem[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return [{ field: 'notification', messages: ['notification must be an object'] }];
  }
  const fields = acceptedByDto(input as Record<string, unknown>, defaultMarket);
  return fields ? serialise(fields) : prepareWithDto(input, defaultMarket);
}

/** The notification's fields once validated; `token` and `id` not yet canonical. */
interface ValidFields {
  market: string;
  customerKey: string;
  sessionKey: string;
  id?: string | null | undefined;
  token?: string | null | undefined;
  productKey?: string | null | undefined;
  variantKey?: string | null | undefined;
}

/** @internal The slow path: class-transformer + class-validator against the DTO. */
export function prepareWithDto(
  input: object,
  defaultMarket: string,
): PreparedNotification | EsalesValidationProblem[] {
  // `excludeExtraneousValues` copies only the DTO's own fields, so extra keys (`__proto__` included)
  // can neither reach Elevate nor confuse validation.
  const dto = plainToInstance(NonEsalesClickNotificationDto, input, {
    excludeExtraneousValues: true,
  });
  if (dto.market === undefined) dto.market = defaultMarket;
  const errors = validateSync(dto, { forbidUnknownValues: true, stopAtFirstError: true });
  if (errors.length > 0) return problemsOf(errors);
  return serialise(dto);
}

/** C0 and C1 control characters: what `NO_CONTROL_CHARACTERS` (`\p{Cc}`) forbids. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
const TOKEN = /^[0-9a-fA-F]{64}$/;

/**
 * A non-empty string of at most `max` UTF-16 units without control characters. class-validator's
 * `MaxLength` counts a surrogate pair as one character, so this never accepts what it would refuse.
 */
const isPlainString = (value: unknown, max: number): value is string =>
  typeof value === 'string' &&
  value.length > 0 &&
  value.length <= max &&
  !CONTROL_CHARACTER.test(value);

/**
 * @internal The fast path: the fields when they are plain strings (or absent where allowed) the
 * DTO surely accepts; undefined for anything else, which the DTO then judges. Reads each field once,
 * by name, as class-transformer does, so extra keys are ignored here too.
 */
export function acceptedByDto(
  input: Record<string, unknown>,
  defaultMarket: string,
): ValidFields | undefined {
  const {
    market = defaultMarket,
    customerKey,
    sessionKey,
    id,
    token,
    productKey,
    variantKey,
  } = input;
  if (
    !isPlainString(market, MAX_MARKET_LENGTH) ||
    !isPlainString(customerKey, MAX_KEY_LENGTH) ||
    !isPlainString(sessionKey, MAX_KEY_LENGTH) ||
    !(isAbsent(id) || isPlainString(id, MAX_KEY_LENGTH)) ||
    !(isAbsent(token) || (typeof token === 'string' && TOKEN.test(token))) ||
    !(isAbsent(variantKey) || isPlainString(variantKey, MAX_PRODUCT_KEY_LENGTH)) ||
    // The product key may be left out only when a variant key is given.
    !(isAbsent(productKey)
      ? !isAbsent(variantKey)
      : isPlainString(productKey, MAX_PRODUCT_KEY_LENGTH))
  ) {
    return undefined;
  }
  // `null` as an id: the DTO's `IsOptional` lets it through and a UUID replaces it, as here.
  return { market, customerKey, sessionKey, id, token, productKey, variantKey } as ValidFields;
}

function serialise(fields: ValidFields): PreparedNotification {
  const id = fields.id ?? randomUUID();
  // Elevate's tokens are lowercase hex; the DTO accepts either case, the wire gets the canonical one.
  const token = isAbsent(fields.token) ? undefined : fields.token.toLowerCase();
  const productKey = fields.productKey ?? null;
  const variantKey = fields.variantKey ?? null;
  const body = JSON.stringify({
    market: fields.market,
    customerKey: fields.customerKey,
    sessionKey: fields.sessionKey,
    id,
    token,
    productKey,
    variantKey,
  });
  return {
    market: fields.market,
    id,
    body,
    token,
    customerKey: fields.customerKey,
    productKey,
    variantKey,
  };
}
