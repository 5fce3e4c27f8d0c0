import { describe, expect, it } from '@jest/globals';
import { loadAxiosEntry, loadBullmqEntry } from '../../lib/esales.providers.js';
import { EsalesConfigError } from '../../lib/errors/esales-config.error.js';

describe("transport: 'axios' loads nestjs-esales/axios at boot", () => {
  it('loads the entry point when the optional peers are installed', async () => {
    const entry = await loadAxiosEntry();
    expect(typeof entry.createAxiosTransport).toBe('function');
    expect(entry.createAxiosTransport({ maxSockets: 4 }).constructor.name).toBe(
      'AxiosEsalesTransport',
    );
  });

  it.each([
    ['ERR_MODULE_NOT_FOUND', "Cannot find package 'axios' imported from /app/dist/esm/axios.js"],
    ['ERR_MODULE_NOT_FOUND', "Cannot find package '@nestjs/axios' imported from /app/x.js"],
    ['MODULE_NOT_FOUND', "Cannot find module 'axios'\nRequire stack:\n- /app/dist/cjs/x.js"],
  ])('says what to install when a peer is missing (%s: %s)', async (code, message) => {
    const cause = Object.assign(new Error(message), { code });
    const missing = () => Promise.reject(cause);
    const error = await loadAxiosEntry(missing).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EsalesConfigError);
    expect((error as EsalesConfigError).problems).toEqual([
      "transport: 'axios' needs the optional peers @nestjs/axios and axios: npm install " +
        '@nestjs/axios axios (or use the default undici transport)',
    ]);
    expect((error as Error).cause).toBe(cause);
  });

  it('reports a missing module that is not one of the peers as it is', async () => {
    const deeper = Object.assign(new Error("Cannot find module 'follow-redirects'"), {
      code: 'MODULE_NOT_FOUND',
    });
    await expect(loadAxiosEntry(() => Promise.reject(deeper))).rejects.toBe(deeper);
  });

  it('lets any other failure through as it is', async () => {
    const broken = new TypeError('something else');
    await expect(loadAxiosEntry(() => Promise.reject(broken))).rejects.toBe(broken);
  });
});

describe("delivery: 'bullmq' loads nestjs-esales/bullmq at boot", () => {
  it('loads the entry point when the optional peers are installed', async () => {
    const entry = await loadBullmqEntry();
    expect(typeof entry.BullmqDeliveryBackend).toBe('function');
  });

  it.each([
    [
      'ERR_MODULE_NOT_FOUND',
      "Cannot find package 'bullmq' imported from /app/dist/esm/bullmq/x.js",
    ],
    ['ERR_MODULE_NOT_FOUND', "Cannot find package 'ioredis' imported from /app/x.js"],
    ['MODULE_NOT_FOUND', "Cannot find module 'bullmq'\nRequire stack:\n- /app/dist/cjs/x.js"],
  ])('says what to install when a peer is missing (%s: %s)', async (code, message) => {
    const cause = Object.assign(new Error(message), { code });
    const error = await loadBullmqEntry(() => Promise.reject(cause)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EsalesConfigError);
    expect((error as EsalesConfigError).problems).toEqual([
      "delivery: 'bullmq' (ESALES_DELIVERY=bullmq) needs the optional peers bullmq and ioredis: " +
        "npm install bullmq ioredis (or use the default delivery: 'memory')",
    ]);
    expect((error as Error).cause).toBe(cause);
  });

  it('reports a missing module that is not one of the peers as it is', async () => {
    const deeper = Object.assign(new Error("Cannot find module 'msgpackr'"), {
      code: 'MODULE_NOT_FOUND',
    });
    await expect(loadBullmqEntry(() => Promise.reject(deeper))).rejects.toBe(deeper);
  });
});
