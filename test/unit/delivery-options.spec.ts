import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import {
  ESALES_ENV_VARIABLES,
  esalesOptionsFromEnv,
  type EsalesEnv,
} from '../../lib/config/esales-options-from-env.js';
import type { EsalesModuleOptions } from '../../lib/config/esales-options.interface.js';
import {
  resolveEsalesOptions,
  type ResolvedEsalesOptions,
} from '../../lib/config/resolve-esales-options.js';
import type { EsalesDeliveryBackend } from '../../lib/delivery/esales-delivery-backend.interface.js';
import { BULLMQ_DELIVERY_TIMEOUT_MS, DELIVERY_DEFAULTS } from '../../lib/esales.constants.js';
import { configError } from '../support/config-errors.js';

/*
 * The `delivery` and `bullmq` options and their variables (ESALES_DELIVERY, ESALES_REDIS_URL,
 * ESALES_BULLMQ_QUEUE, ESALES_BULLMQ_WORKER): validation, defaults, and that a Redis URL (which may
 * carry a password) is never shown.
 */

const base = { clusterId: 'w1', defaultMarket: 'UK' } as const;
const envBase = { ESALES_CLUSTER_ID: 'w1', ESALES_DEFAULT_MARKET: 'UK' } as const;
const REDIS_URL = 'redis://:s3cretpass@127.0.0.1:6379/0';
const PASSWORD = 's3cretpass';

const resolve = (options: Partial<EsalesModuleOptions>): ResolvedEsalesOptions =>
  resolveEsalesOptions({ ...base, ...options });
const problemsOf = (options: Record<string, unknown>): readonly string[] =>
  configError(() => resolveEsalesOptions({ ...base, ...options })).problems;
/** The problems of an environment: those `esalesOptionsFromEnv` throws, else resolving's. */
const envProblemsOf = (env: EsalesEnv): readonly string[] =>
  configError(() => resolveEsalesOptions(esalesOptionsFromEnv({ ...envBase, ...env }))).problems;

/** A custom backend: the six methods, doing nothing. */
const customBackend = (): EsalesDeliveryBackend => ({
  name: 'custom',
  start: () => Promise.resolve(),
  enqueue: () => true,
  flush: () => Promise.resolve(true),
  stats: () => ({ name: 'custom' }),
  health: () => Promise.resolve({ up: true, details: {} }),
  close: () => Promise.resolve(),
});

describe('the delivery option', () => {
  it("defaults to 'memory', with no bullmq settings and the 15 s budget", () => {
    const resolved = resolve({});
    expect(resolved.deliveryBackend).toBe('memory');
    expect(resolved.bullmq).toBeUndefined();
    expect(resolved.delivery.deliveryTimeoutMs).toBe(DELIVERY_DEFAULTS.deliveryTimeoutMs);
    expect(resolved.delivery.deliveryTimeoutMs).toBe(15_000);
  });

  it('treats null like an absent delivery', () => {
    expect(resolve({ delivery: null as never }).deliveryBackend).toBe('memory');
  });

  it("accepts 'memory'", () => {
    const resolved = resolve({ delivery: 'memory' });
    expect(resolved.deliveryBackend).toBe('memory');
    expect(resolved.bullmq).toBeUndefined();
  });

  it("accepts 'bullmq' with a Redis URL, and applies the bullmq defaults", () => {
    const resolved = resolve({ delivery: 'bullmq', bullmq: { redisUrl: REDIS_URL } });
    expect(resolved.deliveryBackend).toBe('bullmq');
    expect(resolved.bullmq).toEqual({
      redisUrl: REDIS_URL,
      connection: undefined,
      queueName: 'nestjs-esales',
      worker: true,
      stalledIntervalMs: 30_000,
      lockDurationMs: 30_000,
    });
    expect(Object.isFrozen(resolved.bullmq)).toBe(true);
  });

  it("accepts 'bullmq' with a connection, kept as given", () => {
    const connection = { host: '127.0.0.1', port: 6379 };
    const resolved = resolve({
      delivery: 'bullmq',
      bullmq: {
        connection,
        queueName: 'shop_1-eu',
        worker: false,
        stalledIntervalMs: 100,
        lockDurationMs: 600_000,
      },
    });
    expect(resolved.bullmq).toEqual({
      redisUrl: undefined,
      connection,
      queueName: 'shop_1-eu',
      worker: false,
      stalledIntervalMs: 100,
      lockDurationMs: 600_000,
    });
    expect(resolved.bullmq?.connection).toBe(connection);
  });

  it('accepts rediss:// URLs', () => {
    const redisUrl = 'rediss://user:pw@redis.example.com:6380';
    expect(resolve({ delivery: 'bullmq', bullmq: { redisUrl } }).bullmq?.redisUrl).toBe(redisUrl);
  });

  it('accepts a custom backend object, kept as given', () => {
    const backend = customBackend();
    const resolved = resolve({ delivery: backend });
    expect(resolved.deliveryBackend).toBe(backend);
    expect(resolved.bullmq).toBeUndefined();
    expect(resolved.delivery.deliveryTimeoutMs).toBe(15_000);
  });

  const DELIVERY_PROBLEM =
    'delivery: must be "memory" or "bullmq", or an object with start(), enqueue(), flush(), ' +
    'stats(), health(), close() methods (an EsalesDeliveryBackend)';

  it.each([
    ['an unknown name', 'redis'],
    ['a name in another case', 'BullMQ'],
    ['a number', 1],
    ['an array', []],
    ['a function', () => undefined],
    ['an object without the methods', {}],
    ['a transport', { send: () => Promise.resolve() }],
    ['an object missing close()', { ...customBackend(), close: undefined }],
    ['an object whose start is not a function', { ...customBackend(), start: 'yes' }],
  ])('refuses %s', (_, delivery) => {
    expect(problemsOf({ delivery })).toEqual([DELIVERY_PROBLEM]);
  });

  it('does not echo a malformed delivery value', () => {
    const problems = problemsOf({ delivery: `redis://:${PASSWORD}@host` });
    expect(problems).toEqual([DELIVERY_PROBLEM]);
    expect(problems.join('\n')).not.toContain(PASSWORD);
  });

  it('reports a malformed delivery once, not also the bullmq option', () => {
    expect(problemsOf({ delivery: 'redis', bullmq: { redisUrl: REDIS_URL } })).toEqual([
      DELIVERY_PROBLEM,
    ]);
  });
});

describe("deliveryTimeoutMs with delivery 'bullmq'", () => {
  it('defaults to 10 minutes', () => {
    const resolved = resolve({ delivery: 'bullmq', bullmq: { redisUrl: REDIS_URL } });
    expect(BULLMQ_DELIVERY_TIMEOUT_MS).toBe(600_000);
    expect(resolved.delivery.deliveryTimeoutMs).toBe(600_000);
  });

  it('keeps an explicit value', () => {
    const resolved = resolve({
      delivery: 'bullmq',
      bullmq: { redisUrl: REDIS_URL },
      deliveryTimeoutMs: 20_000,
    });
    expect(resolved.delivery.deliveryTimeoutMs).toBe(20_000);
  });

  it('keeps an explicit value from the environment', () => {
    const options = esalesOptionsFromEnv({
      ...envBase,
      ESALES_DELIVERY: 'bullmq',
      ESALES_REDIS_URL: REDIS_URL,
      ESALES_DELIVERY_TIMEOUT_MS: '30000',
    });
    expect(resolveEsalesOptions(options).delivery.deliveryTimeoutMs).toBe(30_000);
  });
});

describe('the bullmq option', () => {
  it("requires a Redis URL or connection with delivery 'bullmq'", () => {
    const required =
      "bullmq.redisUrl or bullmq.connection: one of them is required with delivery 'bullmq'";
    expect(problemsOf({ delivery: 'bullmq' })).toEqual([required]);
    expect(problemsOf({ delivery: 'bullmq', bullmq: null })).toEqual([required]);
    expect(problemsOf({ delivery: 'bullmq', bullmq: {} })).toEqual([required]);
    expect(problemsOf({ delivery: 'bullmq', bullmq: { queueName: 'q' } })).toEqual([required]);
    expect(
      problemsOf({ delivery: 'bullmq', bullmq: { redisUrl: null, connection: null } }),
    ).toEqual([required]);
  });

  it('refuses both a Redis URL and a connection', () => {
    expect(
      problemsOf({ delivery: 'bullmq', bullmq: { redisUrl: REDIS_URL, connection: {} } }),
    ).toEqual(['bullmq.redisUrl and bullmq.connection: give one of them, not both']);
  });

  it.each([
    ['left out', {}],
    ["'memory'", { delivery: 'memory' }],
    ['null', { delivery: null }],
    ['a custom backend', { delivery: customBackend() }],
  ])('only applies with delivery bullmq, not with delivery %s', (_, delivery) => {
    expect(problemsOf({ ...delivery, bullmq: { redisUrl: REDIS_URL } })).toEqual([
      "bullmq: only applies to delivery 'bullmq'",
    ]);
    expect(problemsOf({ ...delivery, bullmq: {} })).toEqual([
      "bullmq: only applies to delivery 'bullmq'",
    ]);
  });

  it('lets bullmq: null pass with another delivery (null counts as absent)', () => {
    expect(resolve({ bullmq: null as never }).bullmq).toBeUndefined();
  });

  it('must be an object', () => {
    for (const bullmq of ['redis://127.0.0.1', 1, true, []]) {
      expect(problemsOf({ delivery: 'bullmq', bullmq })).toEqual([
        'bullmq: must be an object such as { redisUrl: "redis://127.0.0.1:6379" }',
      ]);
    }
  });

  describe('redisUrl', () => {
    const URL_PROBLEM =
      'bullmq.redisUrl: must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0';

    it.each([
      `redis//user:${PASSWORD}@host`,
      `http://user:${PASSWORD}@host`,
      `https://user:${PASSWORD}@host:6379`,
      `${PASSWORD}`,
      `127.0.0.1:6379`,
      `unix:///tmp/redis-${PASSWORD}.sock`,
      '',
    ])('refuses %p without showing it', (redisUrl) => {
      const problems = problemsOf({ delivery: 'bullmq', bullmq: { redisUrl } });
      expect(problems).toEqual([URL_PROBLEM]);
      expect(problems.join('\n')).not.toContain(PASSWORD);
    });

    it('must be a string', () => {
      expect(problemsOf({ delivery: 'bullmq', bullmq: { redisUrl: 6379 } })).toEqual([
        'bullmq.redisUrl: must be a string',
      ]);
    });
  });

  it('connection must be an object', () => {
    for (const connection of ['redis://127.0.0.1', 6379, true]) {
      expect(problemsOf({ delivery: 'bullmq', bullmq: { connection } })).toEqual([
        'bullmq.connection: must be an ioredis instance or ioredis connection options (an object)',
      ]);
    }
  });

  it('accepts a class instance as the connection (an ioredis client)', () => {
    class FakeRedis {
      readonly status = 'ready';
    }
    const connection = new FakeRedis();
    expect(resolve({ delivery: 'bullmq', bullmq: { connection } }).bullmq?.connection).toBe(
      connection,
    );
  });

  describe('queueName', () => {
    const QUEUE_PROBLEM =
      'bullmq.queueName: must be 1 to 64 letters, digits, "_" or "-" (BullMQ forbids ":")';

    it.each(['a', 'nestjs-esales', 'Shop_1-EU', 'x'.repeat(64)])('accepts %p', (queueName) => {
      expect(
        resolve({ delivery: 'bullmq', bullmq: { redisUrl: REDIS_URL, queueName } }).bullmq
          ?.queueName,
      ).toBe(queueName);
    });

    it.each(['', 'a:b', 'bull:queue', 'with space', 'x'.repeat(65), 'ünïcode', 'a\nb', 'a.b'])(
      'refuses %p',
      (queueName) => {
        expect(
          problemsOf({ delivery: 'bullmq', bullmq: { redisUrl: REDIS_URL, queueName } }),
        ).toEqual([QUEUE_PROBLEM]);
      },
    );

    it('must be a string', () => {
      expect(
        problemsOf({ delivery: 'bullmq', bullmq: { redisUrl: REDIS_URL, queueName: 1 } }),
      ).toEqual(['bullmq.queueName: must be a string']);
    });
  });

  it('worker must be a boolean', () => {
    expect(
      problemsOf({ delivery: 'bullmq', bullmq: { redisUrl: REDIS_URL, worker: 'yes' } }),
    ).toEqual(['bullmq.worker: must be true or false']);
  });

  describe.each(['stalledIntervalMs', 'lockDurationMs'])('%s', (option) => {
    const check = (value: unknown): readonly string[] =>
      problemsOf({ delivery: 'bullmq', bullmq: { redisUrl: REDIS_URL, [option]: value } });

    it.each([100, 30_000, 600_000])('accepts %p', (value) => {
      const resolved = resolve({
        delivery: 'bullmq',
        bullmq: { redisUrl: REDIS_URL, [option]: value },
      });
      expect((resolved.bullmq as unknown as Record<string, unknown>)[option]).toBe(value);
    });

    it.each([
      [99, 'must be at least 100'],
      [0, 'must be at least 100'],
      [-1, 'must be at least 100'],
      [600_001, 'must be at most 600000'],
      [1000.5, 'must be a whole number of milliseconds'],
      ['30000', 'must be a whole number of milliseconds'],
      [Number.NaN, 'must be a whole number of milliseconds'],
    ])('refuses %p', (value, message) => {
      expect(check(value)).toEqual([`bullmq.${option}: ${message}`]);
    });
  });

  it('reports unknown keys like the other nested options', () => {
    expect(
      problemsOf({
        delivery: 'bullmq',
        bullmq: { redisUrl: REDIS_URL, queue: 'x', 'redis url': 'y' },
      }),
    ).toEqual(['bullmq.queue: is not a known option', 'bullmq."redis url": is not a known option']);
  });

  it('reports prototype keys as unknown, without touching the schema', () => {
    const bullmq: unknown = JSON.parse(
      `{"redisUrl":"${REDIS_URL}","__proto__":{"x":1},"constructor":1}`,
    );
    expect(problemsOf({ delivery: 'bullmq', bullmq })).toEqual([
      'bullmq.__proto__: is not a known option',
      'bullmq.constructor: is not a known option',
    ]);
  });

  it('reports every problem at once', () => {
    expect(
      problemsOf({
        delivery: 'bullmq',
        bullmq: {
          redisUrl: `http://:${PASSWORD}@h`,
          queueName: 'a:b',
          worker: 1,
          stalledIntervalMs: 1,
          lockDurationMs: 1e9,
        },
      }),
    ).toEqual([
      'bullmq.redisUrl: must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0',
      'bullmq.queueName: must be 1 to 64 letters, digits, "_" or "-" (BullMQ forbids ":")',
      'bullmq.worker: must be true or false',
      'bullmq.stalledIntervalMs: must be at least 100',
      'bullmq.lockDurationMs: must be at most 600000',
    ]);
  });

  it('keeps the Redis URL and the connection out of JSON and util.inspect', () => {
    for (const bullmq of [{ redisUrl: REDIS_URL }, { connection: { password: PASSWORD } }]) {
      const resolved = resolve({ delivery: 'bullmq', bullmq });
      for (const shown of [
        JSON.stringify(resolved),
        inspect(resolved, { depth: 10, showHidden: true }),
      ]) {
        expect(shown).not.toContain(PASSWORD);
      }
    }
  });

  it('keeps a custom backend out of util.inspect', () => {
    const backend = { ...customBackend(), token: PASSWORD };
    const resolved = resolve({ delivery: backend });
    expect(inspect(resolved, { depth: 10, showHidden: true })).not.toContain(PASSWORD);
  });
});

describe('the delivery variables', () => {
  it('are known variables, listed in ESALES_ENV_VARIABLES', () => {
    for (const name of [
      'ESALES_DELIVERY',
      'ESALES_REDIS_URL',
      'ESALES_BULLMQ_QUEUE',
      'ESALES_BULLMQ_WORKER',
    ]) {
      expect(ESALES_ENV_VARIABLES).toContain(name);
    }
  });

  it('map to delivery and bullmq', () => {
    const options = esalesOptionsFromEnv({
      ...envBase,
      ESALES_DELIVERY: 'bullmq',
      ESALES_REDIS_URL: ` ${REDIS_URL} `,
      ESALES_BULLMQ_QUEUE: 'shop-eu',
      ESALES_BULLMQ_WORKER: 'off',
    });
    expect(options.delivery).toBe('bullmq');
    expect(options.bullmq).toEqual({ redisUrl: REDIS_URL, queueName: 'shop-eu', worker: false });
    const resolved = resolveEsalesOptions(options);
    expect(resolved.deliveryBackend).toBe('bullmq');
    expect(resolved.bullmq).toEqual({
      redisUrl: REDIS_URL,
      connection: undefined,
      queueName: 'shop-eu',
      worker: false,
      stalledIntervalMs: 30_000,
      lockDurationMs: 30_000,
    });
    expect(resolved.delivery.deliveryTimeoutMs).toBe(600_000);
  });

  it.each([
    ['memory', 'memory'],
    ['MEMORY', 'memory'],
    [' BullMQ ', 'bullmq'],
  ])('reads ESALES_DELIVERY=%p as %p', (value, delivery) => {
    const options = esalesOptionsFromEnv({
      ...envBase,
      ESALES_DELIVERY: value,
      ...(delivery === 'bullmq' ? { ESALES_REDIS_URL: REDIS_URL } : {}),
    });
    expect(options.delivery).toBe(delivery);
    expect(resolveEsalesOptions(options).deliveryBackend).toBe(delivery);
  });

  it('leaves delivery and bullmq out when the variables are unset or blank', () => {
    for (const env of [
      {},
      { ESALES_DELIVERY: ' ', ESALES_REDIS_URL: '', ESALES_BULLMQ_QUEUE: ' ' },
      { ESALES_BULLMQ_WORKER: '' },
    ]) {
      const options = esalesOptionsFromEnv({ ...envBase, ...env });
      expect(options).not.toHaveProperty('delivery');
      expect(options).not.toHaveProperty('bullmq');
      expect(resolveEsalesOptions(options).deliveryBackend).toBe('memory');
    }
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['ON', true],
    ['false', false],
    ['0', false],
    ['No', false],
    ['off', false],
  ])('reads ESALES_BULLMQ_WORKER=%p as %p', (value, worker) => {
    const options = esalesOptionsFromEnv({
      ...envBase,
      ESALES_DELIVERY: 'bullmq',
      ESALES_REDIS_URL: REDIS_URL,
      ESALES_BULLMQ_WORKER: value,
    });
    expect(resolveEsalesOptions(options).bullmq?.worker).toBe(worker);
  });

  it('refuses a malformed ESALES_DELIVERY without showing it', () => {
    const error = configError(() =>
      esalesOptionsFromEnv({ ...envBase, ESALES_DELIVERY: PASSWORD }),
    );
    expect(error.problems).toEqual(['ESALES_DELIVERY: must be memory or bullmq']);
    expect(error.message).not.toContain(PASSWORD);
  });

  it('refuses a malformed ESALES_BULLMQ_WORKER without showing it', () => {
    const error = configError(() =>
      esalesOptionsFromEnv({
        ...envBase,
        ESALES_DELIVERY: 'bullmq',
        ESALES_REDIS_URL: REDIS_URL,
        ESALES_BULLMQ_WORKER: PASSWORD,
      }),
    );
    expect(error.problems).toEqual([
      'ESALES_BULLMQ_WORKER: must be true or false (also 1/0, yes/no, on/off)',
    ]);
    expect(error.message).not.toContain(PASSWORD);
  });

  it.each([`redis//user:${PASSWORD}@host`, `http://user:${PASSWORD}@host`, PASSWORD])(
    'refuses ESALES_REDIS_URL=%p without showing it',
    (value) => {
      const problems = envProblemsOf({ ESALES_DELIVERY: 'bullmq', ESALES_REDIS_URL: value });
      expect(problems).toEqual([
        'bullmq.redisUrl (ESALES_REDIS_URL): must be a redis:// or rediss:// URL such as ' +
          'redis://127.0.0.1:6379/0',
      ]);
      expect(problems.join('\n')).not.toContain(PASSWORD);
    },
  );

  it('keeps a malformed ESALES_REDIS_URL out of the problems of a malformed environment', () => {
    // esalesOptionsFromEnv throws (ESALES_ENABLED) and lists resolving's problems with its own.
    const error = configError(() =>
      esalesOptionsFromEnv({
        ...envBase,
        ESALES_ENABLED: 'maybe',
        ESALES_DELIVERY: 'bullmq',
        ESALES_REDIS_URL: `http://user:${PASSWORD}@host`,
      }),
    );
    expect(error.problems).toEqual([
      'ESALES_ENABLED: must be true or false (also 1/0, yes/no, on/off)',
      'bullmq.redisUrl (ESALES_REDIS_URL): must be a redis:// or rediss:// URL such as ' +
        'redis://127.0.0.1:6379/0',
    ]);
    expect(error.message).not.toContain(PASSWORD);
  });

  it('refuses a malformed ESALES_BULLMQ_QUEUE, naming it', () => {
    expect(
      envProblemsOf({
        ESALES_DELIVERY: 'bullmq',
        ESALES_REDIS_URL: REDIS_URL,
        ESALES_BULLMQ_QUEUE: 'bull:queue',
      }),
    ).toEqual([
      'bullmq.queueName (ESALES_BULLMQ_QUEUE): must be 1 to 64 letters, digits, "_" or "-" ' +
        '(BullMQ forbids ":")',
    ]);
  });

  it('requires ESALES_REDIS_URL with ESALES_DELIVERY=bullmq', () => {
    expect(envProblemsOf({ ESALES_DELIVERY: 'bullmq' })).toEqual([
      'bullmq.redisUrl (ESALES_REDIS_URL) or bullmq.connection: one of them is required with ' +
        "delivery (ESALES_DELIVERY) 'bullmq'",
    ]);
    expect(envProblemsOf({ ESALES_DELIVERY: 'bullmq', ESALES_BULLMQ_QUEUE: 'q' })).toEqual([
      'bullmq.redisUrl (ESALES_REDIS_URL) or bullmq.connection: one of them is required with ' +
        "delivery (ESALES_DELIVERY) 'bullmq'",
    ]);
  });

  it.each([
    [{ ESALES_REDIS_URL: REDIS_URL }, 'bullmq (ESALES_REDIS_URL)'],
    [{ ESALES_BULLMQ_QUEUE: 'q' }, 'bullmq (ESALES_BULLMQ_QUEUE)'],
    [{ ESALES_BULLMQ_WORKER: 'false' }, 'bullmq (ESALES_BULLMQ_WORKER)'],
    [
      { ESALES_REDIS_URL: REDIS_URL, ESALES_BULLMQ_QUEUE: 'q', ESALES_DELIVERY: 'memory' },
      'bullmq (ESALES_REDIS_URL, ESALES_BULLMQ_QUEUE)',
    ],
  ])('reports %p without ESALES_DELIVERY=bullmq, naming the variables', (env, shown) => {
    const problems = envProblemsOf(env);
    expect(problems).toEqual([`${shown}: only applies to delivery (ESALES_DELIVERY) 'bullmq'`]);
    expect(problems.join('\n')).not.toContain(PASSWORD);
  });

  it('keeps the Redis URL from the environment out of util.inspect', () => {
    const resolved = resolveEsalesOptions(
      esalesOptionsFromEnv({ ...envBase, ESALES_DELIVERY: 'bullmq', ESALES_REDIS_URL: REDIS_URL }),
    );
    expect(inspect(resolved, { depth: 10, showHidden: true })).not.toContain(PASSWORD);
    expect(resolved.bullmq?.redisUrl).toBe(REDIS_URL);
  });
});
