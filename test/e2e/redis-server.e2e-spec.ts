import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisServer } from '../support/redis-server.js';

/** The test support's own redis-server: a real one, on a port of its own, restartable in place. */
describe('RedisServer (test support)', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await RedisServer.start();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it('answers PING on its own loopback port', async () => {
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.running).toBe(true);
    expect(await redis.ping()).toBe(true);
  });

  it('reports INFO memory', async () => {
    const info = await redis.info('memory');
    expect(info).toMatch(/^used_memory:\d+\r?$/m);
    expect(info).toMatch(/^maxmemory_policy:noeviction\r?$/m);
  });

  it('keeps data until flushAll', async () => {
    await redis.command('SET', 'support:key', 'value');
    expect(await redis.command('GET', 'support:key')).toBe('value');
    await redis.flushAll();
    expect(await redis.command('GET', 'support:key')).toBeNull();
  });

  it('comes back on the same port after stop and after kill -9, without persistence', async () => {
    const { port } = redis;
    await redis.command('SET', 'support:key', 'value');

    await redis.stop();
    expect(redis.running).toBe(false);
    expect(await redis.ping()).toBe(false);
    await redis.restart();
    expect(redis.port).toBe(port);
    expect(await redis.ping()).toBe(true);
    expect(await redis.command('GET', 'support:key')).toBeNull();

    const killed = redis.pid;
    await redis.kill();
    expect(await redis.ping()).toBe(false);
    await redis.restart();
    expect(redis.pid).not.toBe(killed);
    expect(await redis.ping()).toBe(true);
  });

  it('starts on a given port', async () => {
    const other = await RedisServer.start();
    const { port } = other;
    await other.stop();
    const again = await RedisServer.start({ port });
    try {
      expect(again.port).toBe(port);
      expect(await again.ping()).toBe(true);
    } finally {
      await again.stop();
    }
  });
});
