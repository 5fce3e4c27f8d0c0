import { describe, expect, it } from '@jest/globals';
import { describeError } from '../../lib/common/app-code.js';
import { maskCustomerKey } from '../../lib/common/redact.js';
import { quote, sanitise } from '../../lib/common/sanitize.js';
import { errorContextOf, excerptOf, failureOfAnswer } from '../../lib/delivery/attempt.js';
import { unknownMarketMessage } from '../../lib/errors/esales.messages.js';
import { NonEsalesClick } from '../../lib/notifications/index.js';
import type { PreparedNotification } from '../../lib/notifications/notification-kind.js';
import { prepareNotification } from '../../lib/notifications/prepare-notification.js';

/** Nothing a log line must not contain: controls, format characters, separators, lone surrogates. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const TOKEN = 'df715a9e7c303900fc687d9d2fb6fdd8a2801df6cf66e43e1aa04f03c9d59200';
const CUSTOMER = '7d77a563ff5910f5fca63065451920530c427c95bcd014d78c8a6ab41da93dff';
const SESSION = 'b106299c-eac0-4f6f-96d2-93e57c255784';

const prepared = (): PreparedNotification => {
  const result = prepareNotification(
    NonEsalesClick,
    { market: 'UK', customerKey: CUSTOMER, sessionKey: SESSION, token: TOKEN, productKey: 'p' },
    { defaultMarket: 'UK', privateKey: () => undefined },
  );
  if (Array.isArray(result)) throw new Error('expected a valid notification');
  return result;
};

describe('sanitise', () => {
  it.each([
    ['ESC sequences', '\u001b[1A\u001b[2KLOG Circuit breaker closed\u001b[8m'],
    ['NUL, BEL, BS', 'a\u0000b\u0007c\u0008d'],
    ['C1 controls (NEL, CSI)', 'a\u0085b\u009bc'],
    ['line and paragraph separators', 'UK\u2028FORGED\u2029x'],
    ['bidi overrides and zero-width characters', 'evil\u202etxt.exe\u200b'],
    ['a lone surrogate', 'a\ud800b'],
  ])('leaves no %s', (_name, text) => {
    const result = sanitise(text);
    expect(result).not.toMatch(UNSAFE);
    expect(result.split('\n')).toHaveLength(1);
  });

  it('keeps plain text, emoji and accents as they are', () => {
    expect(sanitise('Café 😀 — fine')).toBe('Café 😀 — fine');
  });

  it('makes line breaks one space and shows the rest as escapes', () => {
    expect(sanitise('a\r\nb\u001bc')).toBe('a b\\u{1b}c');
  });

  it('bounds the length without splitting a surrogate pair', () => {
    expect(sanitise('x'.repeat(10_000), 100)).toBe(`${'x'.repeat(100)}…`);
    expect(sanitise(`${'x'.repeat(99)}😀`, 100)).toBe(`${'x'.repeat(99)}…`);
  });

  it('quotes unambiguously: a quote inside cannot end the value', () => {
    expect(quote('UK" is fine. Market "x')).toBe('"UK\\" is fine. Market \\"x"');
  });
});

describe('what reaches log lines and error messages (findings 1, 2 and 7)', () => {
  it('finding 1: a cluster body with terminal escapes becomes one plain line', () => {
    const body =
      '\u001b[1A\u001b[2K[Nest] LOG Circuit breaker closed\u001b[8m\u0000\u0007\u0085\u009b';
    const failure = failureOfAnswer(
      { status: 503, body, retryAfter: '3\u001b[2K\r\nInjected: yes' },
      prepared(),
      errorContextOf(prepared(), 'http://127.0.0.1/x'),
    );
    const error = failure.error as unknown as { bodyExcerpt: string; retryAfter: string };
    for (const text of [failure.error.message, error.bodyExcerpt, error.retryAfter]) {
      expect(text).not.toMatch(UNSAFE);
    }
    expect(error.retryAfter).toBe('3\\u{1b}[2K Injected: yes');
  });

  it('finding 2: an app error with NEL, LS or PS stays one log record', () => {
    const line = describeError(
      new Error(`resolver failed for ${decodeURIComponent('%C2%85')}x\u2028y\u2029z`),
    );
    expect(line).not.toMatch(UNSAFE);
  });

  it('finding 2: a market name is quoted and cannot forge the rest of the warning', () => {
    const message = unknownMarketMessage('UK" is fine\u2028FORGED \u202eevil', ['UK']);
    expect(message).not.toMatch(UNSAFE);
    expect(message.startsWith('Market "UK\\" is fine')).toBe(true);
  });

  it('finding 2: market names with separators or format characters are invalid notifications', () => {
    for (const market of ['UK\u2028x', 'UK\u202e', 'U\u200bK', 'UK\u2029']) {
      const result = prepareNotification(
        NonEsalesClick,
        { market, customerKey: 'c', sessionKey: 's', productKey: 'p' },
        { defaultMarket: 'UK', privateKey: () => undefined },
      );
      expect(Array.isArray(result) ? result[0]?.field : 'accepted').toBe('market');
    }
  });

  it('finding 7: echoed keys are masked, a token in upper case scrubbed', () => {
    const echo = `customer ${CUSTOMER} session ${SESSION.toUpperCase()} token ${TOKEN.toUpperCase()}`;
    const excerpt = excerptOf(echo, prepared());
    expect(excerpt).toBe('customer 7d77… session b106… token [token]');
  });

  it('finding 7: a token past the old 1 024-character window is scrubbed whole', () => {
    const excerpt = excerptOf(`${' '.repeat(1000)}x${'y'.repeat(10)}${TOKEN}`, prepared());
    expect(excerpt).not.toMatch(/[0-9a-f]{8}/);
    const straddling = excerptOf(`${'z'.repeat(1_000)}${TOKEN}`, prepared());
    expect(straddling).not.toContain(TOKEN.slice(0, 8));
  });
});

/*
 * What the fuzz suite (test/fuzz) found after the findings above were fixed, each reduced to the
 * counterexample fast-check shrank it to.
 */
describe('found by the fuzz suite', () => {
  it('a Retry-After echoing a token or a key is scrubbed and masked like the body', () => {
    for (const echoed of [TOKEN, TOKEN.toUpperCase(), CUSTOMER, SESSION]) {
      const failure = failureOfAnswer(
        { status: 404, body: '', retryAfter: `a ${echoed} b` },
        prepared(),
        errorContextOf(prepared(), 'http://127.0.0.1/x'),
      );
      const error = failure.error as unknown as { retryAfter: string };
      expect(error.retryAfter).not.toContain(echoed.slice(0, 12));
      expect(JSON.stringify(failure.error)).not.toContain(echoed.slice(0, 12));
      expect(error.retryAfter).toMatch(/^a (\[token\]|[0-9a-f]{4}…) b$/);
    }
  });

  it('a masked customer key is sanitised and never splits a surrogate pair', () => {
    expect(maskCustomerKey('\u202e\u2028abcdefghij')).toBe('\\u{202e} ab…');
    expect(maskCustomerKey('a\u{1F600}bcdefghij')).toBe('a\u{1F600}bc…');
    expect(maskCustomerKey('\u{1F600}'.repeat(5))).toBe('…');
    for (const key of ['\u0000\u0000\u0000\u0000xxxxx', '\u{1F600}\u{1F600}xxxxxxxx']) {
      expect(maskCustomerKey(key)).not.toMatch(UNSAFE);
    }
  });
});
