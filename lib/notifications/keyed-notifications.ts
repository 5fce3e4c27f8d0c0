import { Expose } from 'class-transformer';
import {
  IsDefined,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import {
  MAX_PRODUCT_KEY_LENGTH,
  MAX_TICKET_LENGTH,
  NO_CONTROL_CHARACTERS,
  NO_CONTROL_CHARACTERS_MESSAGE,
  PRODUCT_KEY_MISSING,
  TICKET_MISSING,
  isAbsent,
  isPlainString,
} from './notification-fields.js';
import { IdentifiedNotificationDto } from './visitor-notification.dto.js';

/*
 * The two families of click and cart notifications: keyed by product and variant (non-eSales: the
 * product did not come from Elevate), or by the ticket Elevate returned with a product.
 */

/** Fields of a notification about a product Elevate did not return. */
export interface EsalesProductKeys {
  /** The product's key; give this, `variantKey`, or both. */
  productKey?: string | null;
  /** The variant's key. */
  variantKey?: string | null;
}

/** Fields of a notification about a product Elevate returned in a panel. */
export interface EsalesTicket {
  /** The opaque ticket Elevate returned with the product; identifies it and where it was shown. */
  ticket: string;
}

/** Applies property decorators as if written one above the other, the first on top. */
const stacked =
  (...decorators: PropertyDecorator[]): PropertyDecorator =>
  (target, key) => {
    for (const decorator of [...decorators].reverse()) decorator(target, key);
  };

// class-validator checks a property's decorators bottom-up, so the type check sits lowest: with
// `stopAtFirstError` an array reports "must be a string", not a length or pattern message.

/**
 * A `productKey` that may be left out (or null) only when the object has a `variantKey`; `missing`
 * is the message when neither is there. For notifications and payment lines alike.
 */
export const ProductKeyField = (missing: string): PropertyDecorator =>
  stacked(
    Expose(),
    ValidateIf(
      (object: { productKey?: unknown; variantKey?: unknown }) =>
        !isAbsent(object.productKey) || isAbsent(object.variantKey),
    ),
    IsDefined({ message: missing }),
    Matches(NO_CONTROL_CHARACTERS, { message: NO_CONTROL_CHARACTERS_MESSAGE }),
    MaxLength(MAX_PRODUCT_KEY_LENGTH),
    IsNotEmpty({ message: missing }),
    IsString(),
  );

/** An optional `variantKey`. */
export const VariantKeyField = (): PropertyDecorator =>
  stacked(
    Expose(),
    IsOptional(),
    Matches(NO_CONTROL_CHARACTERS, { message: NO_CONTROL_CHARACTERS_MESSAGE }),
    MaxLength(MAX_PRODUCT_KEY_LENGTH),
    IsNotEmpty(),
    IsString(),
  );

/** A product and/or variant key; `productKey` may be null when a variant key is given. */
export abstract class ProductKeyedNotificationDto extends IdentifiedNotificationDto {
  /** The product's key; may be null when a variant key is given. */
  @ProductKeyField(PRODUCT_KEY_MISSING)
  productKey?: string | null;

  /** The variant's key, if the visitor chose a specific variant. */
  @VariantKeyField()
  variantKey?: string | null;
}

/** A ticket from an Elevate panel response. */
export abstract class TicketNotificationDto extends IdentifiedNotificationDto {
  /** The ticket Elevate returned with the product. */
  @Expose()
  @IsDefined({ message: TICKET_MISSING })
  @Matches(NO_CONTROL_CHARACTERS, { message: NO_CONTROL_CHARACTERS_MESSAGE })
  @MaxLength(MAX_TICKET_LENGTH)
  @IsNotEmpty({ message: TICKET_MISSING })
  @IsString()
  ticket!: string;
}

export const PRODUCT_KEY_FIELDS = ['productKey', 'variantKey'] as const;
export const TICKET_FIELDS = ['ticket'] as const;

/** Fast path: plain keys, and the product key left out only when a variant key is given. */
export function acceptsProductKeys(fields: Readonly<Record<string, unknown>>): boolean {
  const { productKey, variantKey } = fields;
  return (
    (isAbsent(variantKey) || isPlainString(variantKey, MAX_PRODUCT_KEY_LENGTH)) &&
    (isAbsent(productKey)
      ? !isAbsent(variantKey)
      : isPlainString(productKey, MAX_PRODUCT_KEY_LENGTH))
  );
}

/** Both keys always on the wire: a variant alone goes with `productKey: null`, as Elevate asks. */
export const wireProductKeys = (
  fields: Readonly<Record<string, unknown>>,
): Record<string, unknown> => ({
  productKey: fields['productKey'] ?? null,
  variantKey: fields['variantKey'] ?? null,
});

export const acceptsTicket = (fields: Readonly<Record<string, unknown>>): boolean =>
  isPlainString(fields['ticket'], MAX_TICKET_LENGTH);

export const wireTicket = (fields: Readonly<Record<string, unknown>>): Record<string, unknown> => ({
  ticket: fields['ticket'],
});
