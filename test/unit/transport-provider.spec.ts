import { describe, expect, it } from '@jest/globals';
import { loadAxiosEntry } from '../../lib/esales.providers.js';
import { EsalesConfigError } from '../../lib/errors/esales-config.error.js';

describe("transport: 'axios' loads nestjs-esales/axios at boot", () => {
  it('loads the entry point when the optional peers are installed', async () => {
    const entry = await loadAxiosEntry();
    expect(typeof entry.createAxiosTransport).toBe('function');
    expect(entry.createAxiosTransport({ maxSockets: 4 }).constructor.name).toBe(
      'AxiosEsalesTransport',
    );
  });

  it.each(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'])(
    'says what to install when a peer is missing (%s)',
    async (code) => {
      const missing = () =>
        Promise.reject(Object.assign(new Error("Cannot find package 'axios'"), { code }));
      const error = await loadAxiosEntry(missing).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(EsalesConfigError);
      expect((error as EsalesConfigError).problems).toEqual([
        "transport: 'axios' needs the optional peers @nestjs/axios and axios: npm install " +
          '@nestjs/axios axios (or use the default undici transport)',
      ]);
    },
  );

  it('lets any other failure through as it is', async () => {
    const broken = new TypeError('something else');
    await expect(loadAxiosEntry(() => Promise.reject(broken))).rejects.toBe(broken);
  });
});
