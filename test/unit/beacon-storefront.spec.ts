import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { escapeHtml, html } from '../../sample-app/storefront/html.js';
import { isCrossSitePost, safeReturnPath } from '../../sample-app/storefront/same-origin.js';

/* The sample storefront's rules around its beacon pages: return paths, escaping, same-origin posts. */

describe('safeReturnPath', () => {
  it.each<[string | undefined, string]>([
    ['/cart', '/cart'],
    ['/products/mug_1001?x=1#top', '/products/mug_1001?x=1#top'],
    [undefined, '/'],
    ['', '/'],
    ['cart', '/'],
    ['https://evil.example/', '/'],
    ['//evil.example', '/'],
    ['/\\evil.example', '/'],
    ['/\t/evil.example', '/'],
    ['/\n/evil.example', '/'],
    ['/\r\n/evil.example', '/'],
    ['/cart\u0000', '/'],
    ['/cart\u007f', '/'],
    ['javascript:alert(1)', '/'],
  ])('%j → %j', (returnTo, expected) => {
    expect(safeReturnPath(returnTo)).toBe(expected);
  });
});

describe('escapeHtml', () => {
  it('escapes markup and both quotes', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('is what html`` applies to interpolated strings, not to its own markup', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p title="${'"x"'}">${inner}</p>`.markup).toBe(
      '<p title="&quot;x&quot;"><b>&lt;i&gt;</b></p>',
    );
  });
});

describe('isCrossSitePost', () => {
  const request = (headers: Record<string, string>): IncomingMessage =>
    ({ headers: { host: 'shop.example.com', ...headers } }) as unknown as IncomingMessage;

  it.each<[string, Record<string, string>, boolean]>([
    ['no Origin, no Sec-Fetch-Site (curl, node fetch)', {}, false],
    ['Sec-Fetch-Site same-origin', { 'sec-fetch-site': 'same-origin' }, false],
    ['Sec-Fetch-Site none', { 'sec-fetch-site': 'none' }, false],
    ['Sec-Fetch-Site same-site', { 'sec-fetch-site': 'same-site' }, true],
    ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }, true],
    ['only an Origin of the own host', { origin: 'https://shop.example.com' }, false],
    ['only another Origin', { origin: 'https://evil.example' }, true],
    ['Origin: null', { origin: 'null' }, true],
  ])('%s → %s', (_, headers, expected) => {
    expect(isCrossSitePost(request(headers))).toBe(expected);
  });
});
