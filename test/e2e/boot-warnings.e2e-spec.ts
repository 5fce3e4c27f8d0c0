import { describe, expect, it } from '@jest/globals';
import { testApp } from '../support/test-app.js';

/* What the module says once at boot about a configuration that is allowed but risky (finding 12). */

describe('boot warnings', () => {
  it('warns once when allowInsecureClusterUrl sends over http to a host off loopback', async () => {
    const t = await testApp({
      options: {
        clusterUrl: 'http://elevate-stand-in.internal:8080',
        allowInsecureClusterUrl: true,
      },
    });
    try {
      const warnings = t.logs.lines.filter((l) => l.level === 'warn').map((l) => l.message);
      expect(warnings).toEqual([
        'allowInsecureClusterUrl: notifications, tokens included, go over plain http to ' +
          'http://elevate-stand-in.internal:8080, which is not a loopback address',
      ]);
    } finally {
      await t.close();
    }
  });

  it('says nothing for a stand-in on loopback', async () => {
    const t = await testApp();
    try {
      expect(t.logs.lines.filter((l) => l.level === 'warn')).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it.each(['http://169.254.169.254', 'http://[fe80::1]:8080', 'http://[::ffff:169.254.169.254]'])(
    'refuses a link-local or metadata cluster host at boot: %s',
    async (clusterUrl) => {
      await expect(
        testApp({ options: { clusterUrl, allowInsecureClusterUrl: true } }),
      ).rejects.toThrow(/clusterUrl/);
    },
  );
});
