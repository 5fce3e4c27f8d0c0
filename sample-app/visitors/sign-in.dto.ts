import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

/**
 * Stands in for your login: in a real app the visitor id comes from your authentication (the
 * session's user), never from the request body, or anyone could sign in as anyone.
 */
export class SignInDto {
  /**
   * An internal, unguessable id of the visitor, such as a user id or a UUID, never an e-mail
   * address or a user name. The customer key is its SHA-256, stored in a cookie and sent to
   * Elevate: a guessable id could be recovered from it by hashing guesses.
   */
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  visitorId!: string;
}
