import { Controller, Get, UseGuards } from '@nestjs/common';
import { EsalesNotificationService, type EsalesStats } from '../../lib/index.js';
import { ElevateStandIn } from '../../lib/testing.js';
import { LoopbackHostGuard } from './loopback-host.guard.js';

/** What replaces a secret in the log. */
export const REDACTED = '[redacted]';
/** Query parameters whose value is a secret: a payment's signature. */
const SECRET_PARAMETERS = new Set(['paymentToken']);
/** Top-level body fields whose value is a secret: a signed-in visitor's customer-key token. */
const SECRET_FIELDS = ['token'] as const;

/** The name of one `name=value` part of a query, decoded as `URLSearchParams` (and the stand-in) does. */
const nameOf = (part: string): string => new URLSearchParams(part).keys().next().value ?? '';

/**
 * A path with the value of every `paymentToken` query parameter (its name compared decoded, each
 * occurrence) replaced by `[redacted]`; the rest of the path is left as it was.
 */
export function redactPath(path: string): string {
  const start = path.indexOf('?');
  if (start < 0) return path;
  const parts = path.slice(start + 1).split('&');
  const redacted = parts.map((part) => {
    if (!SECRET_PARAMETERS.has(nameOf(part))) return part;
    const equals = part.indexOf('=');
    return `${equals < 0 ? part : part.slice(0, equals)}=${REDACTED}`;
  });
  return `${path.slice(0, start + 1)}${redacted.join('&')}`;
}

/**
 * The body, or when it has a top-level `token` (whatever its value) a copy with that value replaced by
 * `[redacted]`; the other fields and their order are left as they were.
 */
export function redactBody(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const secrets = SECRET_FIELDS.filter((field) => Object.hasOwn(body, field));
  if (secrets.length === 0) return body;
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const field of secrets) copy[field] = REDACTED;
  return copy;
}

/** One request the embedded stand-in received, as the sample shows it (secrets redacted). */
export interface ReceivedNotification {
  receivedAt: string;
  method: string;
  /** Path and query, the value of a `paymentToken` parameter replaced by `[redacted]`. */
  path: string;
  /** The notification endpoint, e.g. `click` or `payment`; null for a path that is none (404). */
  kind: string | null;
  /** What the stand-in answered, as Elevate would have; null while it is still answering. */
  status: number | null;
  /**
   * Present (true) only when the body was over 64 KiB: the stand-in judged all of it but kept only
   * its start, and `body` is then absent.
   */
  truncated?: true;
  /** The body as JSON, a top-level `token` replaced by `[redacted]`; absent when not JSON. */
  body: unknown;
}

/**
 * Shows what "Elevate" received, so notifications can be followed by hand (and by the sample's e2e
 * test) without a real cluster. Only exists while the embedded stand-in runs, and only answers a
 * loopback `Host` (`LoopbackHostGuard`: 403 otherwise). Signed-in visitors' tokens and payments'
 * `paymentToken`s are redacted: the log is for following notifications, not for replaying them.
 */
@Controller('_esales-stand-in')
@UseGuards(LoopbackHostGuard)
export class StandInController {
  constructor(
    private readonly standIn: ElevateStandIn,
    private readonly esales: EsalesNotificationService,
  ) {}

  @Get('notifications')
  notifications(): ReceivedNotification[] {
    return this.standIn.requests.map(
      ({ receivedAt, method, path, kind, status, truncated, body }) => ({
        receivedAt: receivedAt.toISOString(),
        method,
        path: redactPath(path),
        kind: kind ?? null,
        status: status ?? null,
        ...(truncated ? { truncated } : {}),
        body: redactBody(body),
      }),
    );
  }

  /**
   * The sender's side: `EsalesNotificationService.getStats()`, with what never reached the stand-in
   * (`skippedBy.duplicate`: payments skipped by their `dedupeKey`; `skippedBy.bot`, …) per kind in
   * `byKind`.
   */
  @Get('stats')
  stats(): EsalesStats {
    return this.esales.getStats();
  }
}
