import { ServerResponse, IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_COOKIE_NAMES,
  appendSetCookies,
  expiredVisitorCookie,
  rawResponseOf,
  readVisitorCookies,
  onSuccessfulHead,
  visitorCookie,
} from '../../lib/click-tracking/visitor-cookies.js';

const response = (): ServerResponse => new ServerResponse(new IncomingMessage(new Socket()));

describe('visitor cookies', () => {
  it('reads the Apptus cookies from a raw Cookie header', () => {
    expect(
      readVisitorCookies(
        'a=1; apptus.sessionKey=s-1; apptus.customerKey=c%2D1; apptus.token=; x="y"',
        DEFAULT_COOKIE_NAMES,
      ),
    ).toEqual({ sessionKey: 's-1', customerKey: 'c-1' });
    expect(readVisitorCookies(undefined, DEFAULT_COOKIE_NAMES)).toEqual({});
    expect(readVisitorCookies('garbage;;;=;', DEFAULT_COOKIE_NAMES)).toEqual({});
    expect(
      readVisitorCookies(['apptus.sessionKey=s', 'apptus.customerKey=c'], DEFAULT_COOKIE_NAMES),
    ).toEqual({ sessionKey: 's', customerKey: 'c' });
  });

  it('reads configured names', () => {
    expect(
      readVisitorCookies('sk=1; ck=2; tk=3', { sessionKey: 'sk', customerKey: 'ck', token: 'tk' }),
    ).toEqual({ sessionKey: '1', customerKey: '2', token: '3' });
  });

  it('writes cookies the browser library can read: Path=/, one year, Lax, never HttpOnly', () => {
    const cookie = visitorCookie('apptus.sessionKey', 'abc', { secure: false });
    expect(cookie).toMatch(
      /^apptus\.sessionKey=abc; Max-Age=31536000; Path=\/; Expires=.+; SameSite=Lax$/,
    );
    const expires = Date.parse(/Expires=([^;]+)/.exec(cookie)?.[1] ?? '');
    expect(Math.abs(expires - (Date.now() + 31_536_000_000))).toBeLessThan(5_000);
    expect(visitorCookie('n', 'v', { secure: true, domain: '.example.com' })).toMatch(
      /; Domain=\.example\.com; .*Secure; SameSite=Lax$/,
    );
  });

  it('expires a cookie with the same path and domain', () => {
    expect(expiredVisitorCookie('apptus.token', { secure: true, domain: 'shop.example' })).toBe(
      'apptus.token=; Max-Age=0; Domain=shop.example; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; SameSite=Lax',
    );
  });

  it("appends to a Node response's Set-Cookie, keeping the app's own", () => {
    const res = response();
    res.setHeader('Set-Cookie', 'app=1');
    expect(appendSetCookies(res, ['a=1', 'b=2'])).toBe(true);
    expect(res.getHeader('set-cookie')).toEqual(['app=1', 'a=1', 'b=2']);
  });

  describe('onSuccessfulHead', () => {
    const written = (res: ServerResponse): string[] => {
      const head = (res as unknown as { _header: string | null })._header ?? '';
      return head
        .split('\r\n')
        .filter((line) => line.toLowerCase().startsWith('set-cookie:'))
        .map((line) => line.slice('set-cookie: '.length));
    };
    const raw = (res: ServerResponse) =>
      rawResponseOf(res) as NonNullable<ReturnType<typeof rawResponseOf>>;

    it('adds the cookies when the status line is below 400 (implicit headers, as Express writes)', () => {
      const res = response();
      res.setHeader('Set-Cookie', 'app=1');
      onSuccessfulHead(raw(res), () => ['a=1']);
      res.statusCode = 302;
      res.end();
      expect(written(res)).toEqual(['app=1', 'a=1']);
    });

    it('merges into the headers passed to writeHead (as Fastify writes)', () => {
      const res = response();
      onSuccessfulHead(raw(res), () => ['a=1']);
      res.writeHead(302, { location: '/p', 'set-cookie': ['app=1'] });
      res.end();
      expect(written(res)).toEqual(['app=1', 'a=1']);
      const other = response();
      onSuccessfulHead(raw(other), () => ['a=1']);
      other.writeHead(301, 'Moved', { location: '/p' });
      other.end();
      expect(written(other)).toEqual(['a=1']);
    });

    it("keeps the app's cookies when writeHead gets a flat header list without Set-Cookie", () => {
      const res = response();
      res.setHeader('Set-Cookie', 'app-session=1');
      onSuccessfulHead(raw(res), () => ['a=1']);
      res.writeHead(302, ['Location', '/p']);
      res.end();
      expect(written(res)).toEqual(['app-session=1', 'a=1']);
    });

    it('joins a flat header list that sets cookies itself, and shows the decision what the app set', () => {
      const res = response();
      const seen: (readonly string[])[] = [];
      onSuccessfulHead(raw(res), (app) => (seen.push(app), ['a=1']));
      res.writeHead(302, ['Location', '/p', 'Set-Cookie', 'app=2']);
      res.end();
      expect(seen).toEqual([['app=2']]);
      expect(written(res)).toEqual(['app=2', 'a=1']);
    });

    it('never breaks the response: a decision that throws leaves it as the app made it', () => {
      const res = response();
      res.setHeader('Set-Cookie', 'app=1');
      onSuccessfulHead(raw(res), () => {
        throw new Error('boom');
      });
      res.statusCode = 302;
      res.end();
      expect(written(res)).toEqual(['app=1']);
    });

    it('leaves a response of 400 or more alone, and wraps writeHead only once', () => {
      const res = response();
      const original = res.writeHead;
      onSuccessfulHead(raw(res), () => ['a=1']);
      res.writeHead(404);
      expect(res.writeHead).toBe(original);
      res.end();
      expect(written(res)).toEqual([]);
    });
  });

  it('refuses a response that was already sent, or is not a response', () => {
    const res = response();
    Object.defineProperty(res, 'headersSent', { value: true });
    expect(appendSetCookies(res, ['a=1'])).toBe(false);
    expect(appendSetCookies({}, ['a=1'])).toBe(false);
    expect(appendSetCookies(undefined, ['a=1'])).toBe(false);
  });
});
