import { describe, expect, it } from '@jest/globals';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { EsalesValidationProblem } from '../../lib/errors/esales-validation.error.js';
import {
  AddingToCart,
  Click,
  EndSession,
  NonEsalesAddingToCart,
  NonEsalesClick,
} from '../../lib/notifications/index.js';
import { NonEsalesClickNotificationDto } from '../../lib/notifications/non-esales-click.notification.js';
import type {
  NotificationKind,
  PreparedNotification,
} from '../../lib/notifications/notification-kind.js';
import {
  acceptedFields,
  prepareNotification,
} from '../../lib/notifications/prepare-notification.js';

const contextFor = (defaultMarket: string) => ({ defaultMarket, privateKey: () => undefined });
const prepareNonEsalesClick = (input: unknown, defaultMarket: string) =>
  prepareNotification(NonEsalesClick, input, contextFor(defaultMarket));
/** The same kind without its fast path: every input goes through the DTO. */
const viaDtoOnly = (kind: NotificationKind, input: unknown, defaultMarket: string) =>
  prepareNotification({ ...kind, accepts: undefined }, input, contextFor(defaultMarket));
const acceptedByDto = (input: Record<string, unknown>, defaultMarket: string) =>
  acceptedFields(NonEsalesClick, input, defaultMarket);

const VISITOR = {
  market: 'UK',
  customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
  sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
};
/** The documented fields, in order, of a notification without a token. */
const ANONYMOUS_FIELDS = ['market', 'customerKey', 'sessionKey', 'id', 'productKey', 'variantKey'];
const TOKEN = 'df715a9e7c303900fc687d9d2fb6fdd8a2801df6cf66e43e1aa04f03c9d59200';

const prepared = (input: unknown): PreparedNotification => {
  const result = prepareNonEsalesClick(input, 'DefaultMarket');
  if (Array.isArray(result)) throw new Error(`unexpected problems: ${JSON.stringify(result)}`);
  return result;
};
const problems = (input: unknown): EsalesValidationProblem[] => {
  const result = prepareNonEsalesClick(input, 'DefaultMarket');
  if (!Array.isArray(result)) throw new Error('expected validation problems');
  return result;
};

describe('prepareNonEsalesClick', () => {
  it('serialises exactly the documented fields in the documented order', () => {
    const { body } = prepared({
      ...VISITOR,
      id: 'n-1',
      token: TOKEN,
      productKey: 'p',
      variantKey: 'v',
    });
    expect(body).toBe(
      `{"market":"UK","customerKey":"${VISITOR.customerKey}","sessionKey":"${VISITOR.sessionKey}",` +
        `"id":"n-1","token":"${TOKEN}","productKey":"p","variantKey":"v"}`,
    );
  });

  it('sends the token as lowercase hex, the form Elevate issues', () => {
    const { body } = prepared({ ...VISITOR, token: TOKEN.toUpperCase(), productKey: 'p' });
    expect(JSON.parse(body)).toMatchObject({ token: TOKEN });
  });

  it('omits the token when absent and sends variantKey as null', () => {
    expect(
      JSON.parse(prepared({ ...VISITOR, id: 'n-1', productKey: 'p', token: null }).body),
    ).toEqual({
      ...VISITOR,
      id: 'n-1',
      productKey: 'p',
      variantKey: null,
    });
  });

  it('sends productKey as null when only a variant key is given', () => {
    const body = JSON.parse(
      prepared({ ...VISITOR, variantKey: '79709_grey_medium' }).body,
    ) as object;
    expect(body).toMatchObject({ productKey: null, variantKey: '79709_grey_medium' });
    expect(Object.keys(body)).toEqual(ANONYMOUS_FIELDS);
  });

  it('generates a UUID id when none is given, and keeps a given one', () => {
    const a = prepared({ ...VISITOR, productKey: 'p' });
    const b = prepared({ ...VISITOR, productKey: 'p' });
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.id).not.toBe(b.id);
    expect(prepared({ ...VISITOR, productKey: 'p', id: '0.nd2bj6h4pi7' }).id).toBe('0.nd2bj6h4pi7');
  });

  it('uses the default market when none is given', () => {
    const { customerKey, sessionKey } = VISITOR;
    expect(prepared({ customerKey, sessionKey, productKey: 'p' }).market).toBe('DefaultMarket');
  });

  it('drops fields Elevate does not know, prototype tricks included', () => {
    const input: unknown = JSON.parse(
      `{"market":"UK","customerKey":"c","sessionKey":"s","productKey":"p","ticket":"t",` +
        `"__proto__":{"token":"${TOKEN}"},"constructor":{"prototype":{"x":1}}}`,
    );
    const body = JSON.parse(prepared(input).body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(ANONYMOUS_FIELDS);
    expect(({} as Record<string, unknown>)['token']).toBeUndefined();
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['both keys missing', {}, 'productKey', 'Product key is missing.'],
    [
      'both keys null',
      { productKey: null, variantKey: null },
      'productKey',
      'Product key is missing.',
    ],
    ['an empty product key', { productKey: '' }, 'productKey', 'Product key is missing.'],
    [
      'an array (repeated query parameter)',
      { productKey: ['a', 'b'] },
      'productKey',
      'productKey must be a string',
    ],
    ['a number', { productKey: 42 }, 'productKey', 'productKey must be a string'],
    [
      'an over-long product key',
      { productKey: 'x'.repeat(513) },
      'productKey',
      'shorter than or equal to 512',
    ],
    [
      'a control character',
      { productKey: 'p\r\nX-Injected: 1' },
      'productKey',
      'must not contain control characters',
    ],
    [
      'an empty variant key',
      { productKey: 'p', variantKey: '' },
      'variantKey',
      'variantKey should not be empty',
    ],
    [
      'a malformed token',
      { productKey: 'p', token: 'abc' },
      'token',
      'token must be 64 hexadecimal characters',
    ],
    [
      'an empty customer key',
      { productKey: 'p', customerKey: '' },
      'customerKey',
      'customerKey should not be empty',
    ],
    [
      'a missing session key',
      { productKey: 'p', sessionKey: undefined },
      'sessionKey',
      'sessionKey must be a string',
    ],
    [
      'an over-long market',
      { productKey: 'p', market: 'M'.repeat(101) },
      'market',
      'shorter than or equal to 100',
    ],
    ['an empty id', { productKey: 'p', id: '' }, 'id', 'id should not be empty'],
  ])('rejects %s', (_case, change, field, message) => {
    const found = problems({ ...VISITOR, ...change });
    expect(found).toEqual([{ field, messages: [expect.stringContaining(message)] }]);
  });

  it('never echoes the rejected value', () => {
    const found = problems({ ...VISITOR, productKey: 'p', token: `${TOKEN.slice(1)}g` });
    expect(JSON.stringify(found)).not.toContain(TOKEN.slice(1));
  });

  it.each([null, 'a string', 42, ['a']])('rejects %j as a notification', (input) => {
    expect(problems(input)).toEqual([
      { field: 'notification', messages: ['notification must be an object'] },
    ]);
  });
});

describe('NonEsalesClickNotificationDto with class-validator directly (as ValidationPipe uses it)', () => {
  it('accepts a variant-only click', () => {
    const dto = plainToInstance(NonEsalesClickNotificationDto, { ...VISITOR, variantKey: 'v' });
    expect(validateSync(dto)).toEqual([]);
  });

  it('says "Product key is missing." like Elevate', () => {
    const dto = plainToInstance(NonEsalesClickNotificationDto, { ...VISITOR });
    const [error] = validateSync(dto);
    expect(error?.property).toBe('productKey');
    expect(Object.values(error?.constraints ?? {})).toContain('Product key is missing.');
  });
});

describe.each([
  ['non-esales-click', NonEsalesClick, ['productKey', 'variantKey']],
  ['non-esales-adding-to-cart', NonEsalesAddingToCart, ['productKey', 'variantKey']],
  ['click', Click, ['ticket']],
  ['adding-to-cart', AddingToCart, ['ticket']],
  ['end', EndSession, []],
] as const)('the fast path of %s agrees with its DTO', (_name, kind, ownFields) => {
  /** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
  const random = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  /** Values around every rule: lengths at and past each limit, surrogate pairs, control characters. */
  const lengths = (n: number) => ['x'.repeat(n), 'x'.repeat(n + 1), '😀'.repeat(n / 2 + 1)];
  const common = [
    undefined,
    null,
    '',
    ' ',
    'a',
    'ok\u0085',
    'tab\t',
    'del\u007f',
    'é',
    42,
    ['a'],
    {},
  ];
  const pools: Record<string, unknown[]> = {
    market: [...common, 'UK', ...lengths(100)],
    customerKey: [...common, VISITOR.customerKey, ...lengths(256)],
    sessionKey: [...common, VISITOR.sessionKey, ...lengths(256)],
    id: [...common, 'n-1', ...lengths(256)],
    token: [
      ...common,
      TOKEN,
      TOKEN.toUpperCase(),
      `${TOKEN}0`,
      TOKEN.slice(1),
      `${TOKEN.slice(1)}g`,
    ],
    productKey: [...common, 'p', ...lengths(512)],
    variantKey: [...common, 'v', ...lengths(512)],
    ticket: [...common, 'OzE7MjQ7MTc7', ...lengths(4096)],
  };
  const fields = ['market', 'customerKey', 'sessionKey', 'id', 'token', ...ownFields];
  /** Mostly valid values, so combinations reach past the first field. */
  const valid: Record<string, unknown> = {
    ...VISITOR,
    id: 'n-1',
    token: TOKEN,
    productKey: 'p',
    variantKey: 'v',
    ticket: 'OzE7MjQ7MTc7',
  };

  it('accepts only what the DTO accepts, and serialises it the same way (5 000 seeded cases)', () => {
    const next = random(20261128);
    let fast = 0;
    let dtoAccepted = 0;
    for (let i = 0; i < 5_000; i++) {
      const input: Record<string, unknown> = {};
      for (const field of fields) {
        const pool = pools[field] as unknown[];
        const value = next() < 0.6 ? valid[field] : pool[Math.floor(next() * pool.length)];
        if (value !== undefined || next() < 0.5) input[field] = value;
      }
      const viaDto = viaDtoOnly(kind, input, 'DefaultMarket');
      if (!Array.isArray(viaDto)) dtoAccepted++;
      if (!acceptedFields(kind, input, 'DefaultMarket')) continue;
      fast++;
      // On failure the report names the input the fast path let through and what the DTO said.
      expect(Array.isArray(viaDto) ? { input, viaDto } : 'accepted by the DTO too').toBe(
        'accepted by the DTO too',
      );
      const viaFast = prepareNotification(
        kind,
        input,
        contextFor('DefaultMarket'),
      ) as PreparedNotification;
      // Ids are compared through the body: a generated one differs between the two paths.
      const withoutId = (prepared: PreparedNotification) => ({
        ...prepared,
        id: undefined,
        body: JSON.parse(prepared.body) as Record<string, unknown>,
      });
      const a = withoutId(viaFast);
      const b = withoutId(viaDto as PreparedNotification);
      if (typeof input['id'] !== 'string' || !kind.hasId) {
        a.body['id'] = b.body['id'];
      }
      expect(a).toEqual(b);
    }
    // The fast path is not vacuous: it takes most of what the DTO accepts.
    expect(fast).toBeGreaterThan(dtoAccepted * 0.5);
  });
});

describe('the fast path of non-esales-click', () => {
  it('takes a typical click, a variant-only click and a signed-in click', () => {
    expect(acceptedByDto({ ...VISITOR, productKey: 'p', variantKey: null }, 'UK')).toBeDefined();
    expect(acceptedByDto({ ...VISITOR, variantKey: 'v' }, 'UK')).toBeDefined();
    expect(acceptedByDto({ ...VISITOR, token: TOKEN, productKey: 'p' }, 'UK')).toBeDefined();
  });
});
