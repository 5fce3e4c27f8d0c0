import { randomUUID } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { NonEsalesClickNotificationDto } from '../dto/non-esales-click-notification.dto.js';
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
 */
export function prepareNonEsalesClick(
  input: unknown,
  defaultMarket: string,
): PreparedNotification | EsalesValidationProblem[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return [{ field: 'notification', messages: ['notification must be an object'] }];
  }
  // `excludeExtraneousValues` copies only the DTO's own fields, so extra keys (`__proto__` included)
  // can neither reach Elevate nor confuse validation.
  const dto = plainToInstance(NonEsalesClickNotificationDto, input, {
    excludeExtraneousValues: true,
  });
  if (dto.market === undefined) dto.market = defaultMarket;
  const errors = validateSync(dto, { forbidUnknownValues: true, stopAtFirstError: true });
  if (errors.length > 0) return problemsOf(errors);

  const id = dto.id ?? randomUUID();
  // Elevate's tokens are lowercase hex; the DTO accepts either case, the wire gets the canonical one.
  const token = isAbsent(dto.token) ? undefined : dto.token.toLowerCase();
  const productKey = dto.productKey ?? null;
  const variantKey = dto.variantKey ?? null;
  const body = JSON.stringify({
    market: dto.market,
    customerKey: dto.customerKey,
    sessionKey: dto.sessionKey,
    id,
    token,
    productKey,
    variantKey,
  });
  return {
    market: dto.market,
    id,
    body,
    token,
    customerKey: dto.customerKey,
    productKey,
    variantKey,
  };
}
