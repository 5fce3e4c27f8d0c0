import {
  ForbiddenException,
  Injectable,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * A loopback `Host` header: `127.0.0.1`, `localhost` (any case) or `[::1]`, each with or without a
 * port. Nothing else: no other 127.x address, no trailing dot, no `::1` without brackets.
 */
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i;

/** Whether a request's `Host` header names a loopback host (see `LOOPBACK_HOST`). */
export function isLoopbackHost(host: string | undefined): boolean {
  return host !== undefined && LOOPBACK_HOST.test(host);
}

/**
 * Answers 403 unless the request's `Host` header is a loopback host (`127.0.0.1`, `localhost` or
 * `[::1]`, any port). The stand-in routes show what visitors sent; a page the developer opens could
 * otherwise read them through DNS rebinding (its own name resolving to 127.0.0.1: the browser then
 * sends that name as `Host`, which a page cannot change). A client that sets `Host` itself, such as
 * curl from another machine when the sample listens beyond loopback (`HOST=0.0.0.0`), is not
 * stopped by it: keep the sample on loopback.
 */
@Injectable()
export class LoopbackHostGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const { headers } = context.switchToHttp().getRequest<{ headers: IncomingHttpHeaders }>();
    if (isLoopbackHost(headers.host)) return true;
    throw new ForbiddenException(
      'The stand-in routes answer only requests whose Host is 127.0.0.1, localhost or [::1] (any port).',
    );
  }
}
