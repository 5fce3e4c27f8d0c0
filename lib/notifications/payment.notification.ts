import { NOTIFICATION_PATHS } from '../esales.constants.js';
import { Expose, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsNumber,
  IsOptional,
  IsPositive,
  ValidateBy,
  ValidateNested,
  type ValidationArguments,
} from 'class-validator';
import type { EsalesValidationProblem } from '../errors/esales-validation.error.js';
import { isAbsent } from './notification-fields.js';
import { ProductKeyField, VariantKeyField } from './keyed-notifications.js';
import type { NotificationKind } from './notification-kind.js';
import type { EsalesVisitorFields } from './visitor-fields.interface.js';
import { VisitorNotificationDto } from './visitor-notification.dto.js';

/** Most lines in one payment notification. */
export const MAX_PAYMENT_LINES = 1000;
const PRODUCT_OR_VARIANT = 'each line needs a productKey or a variantKey';

/** One order line of a payment. */
export interface PaymentLine {
  /** The product's key; may be left out (sent as null) when `variantKey` is given. */
  productKey?: string | null;
  /** The variant's key; may be left out (sent as null) when `productKey` is given. */
  variantKey?: string | null;
  /** How many were bought: a positive integer. */
  quantity: number;
  /** The price paid per item, a finite number. */
  sellingPrice: number;
  /**
   * What the item cost the shop: non-zero and below `sellingPrice`. Only sent in a signed (secure)
   * payment, so only allowed when the market has a private key; leave it out when unknown.
   */
  cost?: number | null;
}

/**
 * What the app passes to `sendPayment` / `enqueuePayment`: a completed purchase. Body: `market,
 * customerKey, sessionKey, token, lines` — no `id`.
 */
export interface PaymentNotification extends EsalesVisitorFields {
  /** 1 to 1 000 order lines. */
  lines: PaymentLine[];
}

/** `cost`: a non-zero number below the line's `sellingPrice`. */
const IsCostBelowSellingPrice = (): PropertyDecorator =>
  ValidateBy({
    name: 'isCostBelowSellingPrice',
    validator: {
      validate: (value: unknown, args?: ValidationArguments): boolean => {
        const sellingPrice = (args?.object as { sellingPrice?: unknown } | undefined)?.sellingPrice;
        return (
          typeof value === 'number' &&
          value !== 0 &&
          typeof sellingPrice === 'number' &&
          value < sellingPrice
        );
      },
      defaultMessage: () => '$property must be a non-zero number below sellingPrice',
    },
  });

/** One order line of a payment; usable with `ValidationPipe` (nested in `PaymentNotificationDto`). */
export class PaymentLineDto {
  /** The product's key; may be null when a variant key is given. */
  @ProductKeyField(PRODUCT_OR_VARIANT)
  productKey?: string | null;

  /** The variant's key. */
  @VariantKeyField()
  variantKey?: string | null;

  /** How many were bought. */
  @Expose()
  @IsPositive()
  @IsInt()
  quantity!: number;

  /** The price paid per item. */
  @Expose()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  sellingPrice!: number;

  /** What the item cost the shop: non-zero, below `sellingPrice`; signed payments only. */
  @Expose()
  @IsOptional()
  @IsCostBelowSellingPrice()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  cost?: number | null;
}

/** A payment notification; usable with `ValidationPipe`. */
export class PaymentNotificationDto extends VisitorNotificationDto {
  /** 1 to 1 000 order lines. */
  @Expose()
  @Type(() => PaymentLineDto)
  @ValidateNested({ each: true })
  @ArrayMaxSize(MAX_PAYMENT_LINES)
  @ArrayMinSize(1, { message: 'a payment needs at least one line' })
  @IsArray()
  lines!: PaymentLineDto[];
}

/** Turned away before any transformation: a million lines must not cost a million objects. */
function guard(input: Readonly<Record<string, unknown>>): EsalesValidationProblem[] | undefined {
  const { lines } = input;
  if (Array.isArray(lines) && lines.length > MAX_PAYMENT_LINES) {
    return [
      {
        field: 'lines',
        messages: [`lines must contain no more than ${MAX_PAYMENT_LINES} elements`],
      },
    ];
  }
  return undefined;
}

/** `cost` is only sent signed: Elevate refuses it in a payment without `paymentToken`. */
function check(
  fields: Readonly<Record<string, unknown>>,
  { signed }: { readonly signed: boolean },
): EsalesValidationProblem[] | undefined {
  if (signed) return undefined;
  const problems: EsalesValidationProblem[] = [];
  (fields['lines'] as PaymentLine[]).forEach((line, index) => {
    if (!isAbsent(line.cost)) {
      problems.push({
        field: `lines[${index}].cost`,
        messages: [
          "cost is only accepted in a secure payment, and this market has no private key: configure the market's privateKey, or leave cost out",
        ],
      });
    }
  });
  return problems.length > 0 ? problems : undefined;
}

const wire = (fields: Readonly<Record<string, unknown>>): Record<string, unknown> => ({
  lines: (fields['lines'] as PaymentLine[]).map((line) => ({
    productKey: line.productKey ?? null,
    variantKey: line.variantKey ?? null,
    quantity: line.quantity,
    sellingPrice: line.sellingPrice,
    // Left out when unknown, as Elevate asks.
    cost: isAbsent(line.cost) ? undefined : line.cost,
  })),
});

/**
 * @internal `POST /api/v1/notifications/payment`, signed (`?paymentToken=`) whenever the market has a
 * private key. No `id`: Elevate cannot recognise a repeated payment, so it is retried only when it
 * surely did not arrive.
 */
export const Payment: NotificationKind = Object.freeze({
  name: 'payment',
  path: NOTIFICATION_PATHS.payment,
  subject: 'payment notification',
  dto: PaymentNotificationDto,
  hasId: false,
  fields: ['lines'],
  retry: 'only-when-not-received',
  badRequestHint: 'the payment was invalid',
  signed: true,
  guard,
  check,
  wire,
});
