import type { EsalesValidationProblem } from '../errors/esales-validation.error.js';
import type { EsalesNotificationKindName } from './notification-kind-name.js';

export type { EsalesNotificationKindName };

/**
 * When a failed attempt may be repeated.
 * - `at-least-once`: whenever another attempt could succeed. Elevate recognises a repeated
 *   notification by its `id` (or, for `end`, a second end of the same session changes nothing).
 * - `only-when-not-received`: only when Elevate surely did not take it (the connection was never
 *   made, or it answered 503 or 429). For payments, which carry no `id`: a payment sent twice counts
 *   twice.
 */
export type RetryRule = 'at-least-once' | 'only-when-not-received';

/** What preparing a notification needs from the module's configuration. */
export interface PrepareContext {
  /** The market of a notification that names none. */
  readonly defaultMarket: string;
  /** The market's private key, if one is configured. */
  privateKey(market: string): string | undefined;
}

/**
 * @internal One notification kind, defined once: its endpoint, fields, validation and retry rule.
 * The service, the delivery engine, stats, events and errors only ever see a definition and the
 * `PreparedNotification` it produced, so a seventh kind is one more definition.
 */
export interface NotificationKind {
  /** Endpoint name: in messages, log lines, stats and events. */
  readonly name: EsalesNotificationKindName;
  /** Path under the cluster URL. */
  readonly path: `/api/v1/notifications/${string}`;
  /** What a validation error calls it: `Invalid payment notification: …`. */
  readonly subject: string;
  /** The DTO: the one source of the rules and their messages. */
  readonly dto: new () => object;
  /** Whether the body carries the notification `id` (payment and `end` have none). */
  readonly hasId: boolean;
  /** The kind's own fields after the visitor ones, in wire order. */
  readonly fields: readonly string[];
  readonly retry: RetryRule;
  /** Elevate's 400 in a few words, for an answer without a body. */
  readonly badRequestHint: string;
  /** Whether the body is signed (`?paymentToken=`) when the market has a private key. */
  readonly signed?: boolean;
  /**
   * Cheap checks before the DTO sees the input, against input that would be costly to transform (a
   * million payment lines). Undefined when there is nothing to object to.
   */
  guard?(input: Readonly<Record<string, unknown>>): EsalesValidationProblem[] | undefined;
  /**
   * The fast path for the kind's own fields: true only when they are plainly valid, as a stricter
   * copy of the DTO's rules. Whatever it does not accept goes to the DTO. Without it, always the DTO.
   */
  accepts?(fields: Readonly<Record<string, unknown>>): boolean;
  /** Checks that need the market's configuration (payment: `cost` needs a signed payment). */
  check?(
    fields: Readonly<Record<string, unknown>>,
    context: { readonly signed: boolean },
  ): EsalesValidationProblem[] | undefined;
  /** The kind's own fields of a valid notification, canonical, in wire order. */
  wire(fields: Readonly<Record<string, unknown>>): Record<string, unknown>;
}

/** A notification that passed validation, with its ids fixed and its exact request. */
export interface PreparedNotification {
  readonly kind: EsalesNotificationKindName;
  readonly retry: RetryRule;
  readonly market: string;
  /**
   * Names the notification in events, logs and errors: the wire `id`, or for kinds without one
   * (payment, `end`) a generated one that is never sent.
   */
  readonly id: string;
  /** The JSON body, serialised once so every attempt sends the same bytes. */
  readonly body: string;
  /** `''`, or the query string with its `?` (a payment's `paymentToken`): a secret, never logged. */
  readonly query: string;
  /** Kept only to scrub them from anything Elevate echoes back (token, payment token). */
  readonly secrets: readonly string[];
  /** Kept for (masked) log lines, and to mask it where the cluster echoes it. */
  readonly customerKey: string;
  /** Kept only to mask it where the cluster echoes it. */
  readonly sessionKey: string;
  /** For delivery events: the product and variant keys of the kinds that have them, else null. */
  readonly productKey: string | null;
  readonly variantKey: string | null;
  /** A payment's `dedupeKey`, scoped to its market; released when it is not delivered. */
  readonly dedupeKey?: string;
}
