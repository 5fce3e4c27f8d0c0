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

/** Longest accepted market name. */
export const MAX_MARKET_LENGTH = 100;
/** Longest accepted customer key, session key or notification id. */
export const MAX_KEY_LENGTH = 256;
/** Longest accepted product or variant key. */
export const MAX_PRODUCT_KEY_LENGTH = 512;

/** Matches strings free of C0/C1 control characters (header and log injection material). */
export const NO_CONTROL_CHARACTERS = /^\P{Cc}*$/u;
const NO_CONTROL_CHARACTERS_MESSAGE = '$property must not contain control characters';
const TOKEN_PATTERN = /^[0-9a-fA-F]{64}$/;
/** Elevate's own wording for its 400 answer. */
export const PRODUCT_KEY_MISSING = 'Product key is missing.';

const isAbsent = (value: unknown): boolean => value === undefined || value === null;

// class-validator checks a property's decorators bottom-up, so the type check sits lowest: with
// `stopAtFirstError` an array reports "must be a string", not a length or pattern message.
/**
 * A non-eSales click notification: a visitor clicked a product Elevate did not return (no ticket).
 * Usable with Nest's `ValidationPipe`; `EsalesNotificationService` validates against it too, so a
 * malformed notification never reaches Elevate. Messages never echo the offending value.
 */
export class NonEsalesClickNotificationDto {
  /** The visitor's market, e.g. `UK` or `Sweden`. */
  @Expose()
  @Matches(NO_CONTROL_CHARACTERS, { message: NO_CONTROL_CHARACTERS_MESSAGE })
  @MaxLength(MAX_MARKET_LENGTH)
  @IsNotEmpty()
  @IsString()
  market!: string;

  /** Visitor id: a UUID for anonymous visitors, a SHA-256 hex for signed-in ones. */
  @Expose()
  @Matches(NO_CONTROL_CHARACTERS, { message: NO_CONTROL_CHARACTERS_MESSAGE })
  @MaxLength(MAX_KEY_LENGTH)
  @IsNotEmpty()
  @IsString()
  customerKey!: string;

  /** Session id, a UUID. */
  @Expose()
  @Matches(NO_CONTROL_CHARACTERS, { message: NO_CONTROL_CHARACTERS_MESSAGE })
  @MaxLength(MAX_KEY_LENGTH)
  @IsNotEmpty()
  @IsString()
  sessionKey!: string;

  /** Unique id of this notification; generated (UUID) when absent, and kept on retries. */
  @Expose()
  @IsOptional()
  @Matches(NO_CONTROL_CHARACTERS, { message: NO_CONTROL_CHARACTERS_MESSAGE })
  @MaxLength(MAX_KEY_LENGTH)
  @IsNotEmpty()
  @IsString()
  id?: string;

  /** Customer-key token (64 hex digits), only for signed-in visitors. */
  @Expose()
  @IsOptional()
  @Matches(TOKEN_PATTERN, { message: '$property must be 64 hexadecimal characters' })
  @IsString()
  token?: string | null;

  /** The product's key; may be null when a variant key is given. */
  @Expose()
  @ValidateIf(
    (dto: NonEsalesClickNotificationDto) => !isAbsent(dto.productKey) || isAbsent(dto.variantKey),
  )
  @IsDefined({ message: PRODUCT_KEY_MISSING })
  @Matches(NO_CONTROL_CHARACTERS, { message: NO_CONTROL_CHARACTERS_MESSAGE })
  @MaxLength(MAX_PRODUCT_KEY_LENGTH)
  @IsNotEmpty({ message: PRODUCT_KEY_MISSING })
  @IsString()
  productKey?: string | null;

  /** The variant's key, if the visitor clicked a specific variant. */
  @Expose()
  @IsOptional()
  @Matches(NO_CONTROL_CHARACTERS, { message: NO_CONTROL_CHARACTERS_MESSAGE })
  @MaxLength(MAX_PRODUCT_KEY_LENGTH)
  @IsNotEmpty()
  @IsString()
  variantKey?: string | null;
}
