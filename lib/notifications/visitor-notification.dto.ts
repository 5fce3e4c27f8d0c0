import { Expose } from 'class-transformer';
import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import {
  MARKET_NAME_CHARACTERS,
  MARKET_NAME_CHARACTERS_MESSAGE,
  MAX_KEY_LENGTH,
  MAX_MARKET_LENGTH,
  NO_CONTROL_CHARACTERS,
  NO_CONTROL_CHARACTERS_MESSAGE,
  TOKEN_PATTERN,
} from './notification-fields.js';

// class-validator checks a property's decorators bottom-up, so the type check sits lowest: with
// `stopAtFirstError` an array reports "must be a string", not a length or pattern message.

/**
 * The visitor fields every Elevate v1 notification starts with: `market, customerKey, sessionKey`
 * and, for signed-in visitors, `token`. The base of every notification DTO; messages never echo the
 * offending value.
 */
export abstract class VisitorNotificationDto {
  /** The visitor's market, e.g. `UK` or `Sweden`; the module's `defaultMarket` when absent. */
  @Expose()
  @Matches(MARKET_NAME_CHARACTERS, { message: MARKET_NAME_CHARACTERS_MESSAGE })
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

  /** Customer-key token (64 hex digits), only for signed-in visitors; left out when absent. */
  @Expose()
  @IsOptional()
  @Matches(TOKEN_PATTERN, { message: '$property must be 64 hexadecimal characters' })
  @IsString()
  token?: string | null;
}

/** The visitor fields plus the notification `id` that click and cart notifications carry. */
export abstract class IdentifiedNotificationDto extends VisitorNotificationDto {
  /** Unique id of this notification; generated (UUID) when absent, and kept on retries. */
  @Expose()
  @IsOptional()
  @Matches(NO_CONTROL_CHARACTERS, { message: NO_CONTROL_CHARACTERS_MESSAGE })
  @MaxLength(MAX_KEY_LENGTH)
  @IsNotEmpty()
  @IsString()
  id?: string;
}
