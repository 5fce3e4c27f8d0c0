import { describe, expect, it } from '@jest/globals';
import {
  isRetryableNetworkCode,
  isRetryableStatus,
  retryAfterMs,
} from '../../lib/delivery/retry-rules.js';

describe('retry rules', () => {
  it.each([500, 502, 503, 504, 507, 599, 408, 429])('retries status %i', (status) => {
    expect(isRetryableStatus(status)).toBe(true);
  });

  it.each([501, 505, 400, 401, 403, 404, 409, 413, 422, 300, 302, 200, 600])(
    'never retries status %i',
    (status) => {
      expect(isRetryableStatus(status)).toBe(false);
    },
  );

  it.each(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND'])(
    'retries network error %s',
    (code) => {
      expect(isRetryableNetworkCode(code)).toBe(true);
    },
  );

  // undici reports system codes as they are (ECONNREFUSED, ECONNRESET, above) and a server closing
  // the connection before the answer as its own UND_ERR_SOCKET ("other side closed").
  it.each(['UND_ERR_SOCKET', 'UND_ERR_CLOSED'])('retries undici network error %s', (code) => {
    expect(isRetryableNetworkCode(code)).toBe(true);
  });

  // A destroyed (closed) transport or a malformed request would fail the same way again.
  it.each(['UND_ERR_DESTROYED', 'UND_ERR_INVALID_ARG', 'ERR_INVALID_URL'])(
    'does not retry undici error %s, which a retry would not fix',
    (code) => {
      expect(isRetryableNetworkCode(code)).toBe(false);
    },
  );

  it.each(['ERR_UNKNOWN', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'EPROTO'])(
    'does not retry %s, which a retry would not fix',
    (code) => {
      expect(isRetryableNetworkCode(code)).toBe(false);
    },
  );

  describe('Retry-After', () => {
    const now = Date.parse('2026-11-28T12:00:00Z');

    it('reads delay-seconds', () => {
      expect(retryAfterMs('1', now)).toBe(1000);
      expect(retryAfterMs(' 120 ', now)).toBe(120_000);
      expect(retryAfterMs('0', now)).toBe(0);
    });

    it('reads an HTTP date', () => {
      expect(retryAfterMs('Sat, 28 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
      expect(retryAfterMs('Sat, 28 Nov 2026 11:00:00 GMT', now)).toBe(0);
    });

    it.each([undefined, '', '-1', '1.5', 'soon', '2026-11-28T12:00:30Z', 'Sat, 28 Nov 2026'])(
      'ignores %p',
      (header) => {
        expect(retryAfterMs(header, now)).toBeUndefined();
      },
    );
  });
});
