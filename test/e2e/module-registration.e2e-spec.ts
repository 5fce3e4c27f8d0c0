import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { CustomerKeyAuthentication } from '../../lib/auth/customer-key-authentication.js';
import { CustomerKeyAuthenticationService } from '../../lib/auth/customer-key-authentication.service.js';
import type {
  EsalesModuleOptions,
  EsalesOptionsFactory,
} from '../../lib/config/esales-options.interface.js';
import { esalesConfig } from '../../lib/config/esales.config.js';
import { esalesOptionsFromEnv } from '../../lib/config/esales-options-from-env.js';
import { EsalesModule } from '../../lib/esales.module.js';
import { EsalesNotificationService } from '../../lib/esales-notification.service.js';
import { EsalesConfigError } from '../../lib/errors/esales-config.error.js';
import { EsalesUnknownMarketError } from '../../lib/errors/esales-unknown-market.error.js';
import { EsalesValidationError } from '../../lib/errors/esales-validation.error.js';
import { ElevateStandIn } from '../../lib/testing/elevate-stand-in.js';
import { boot, bootError } from '../support/boot.js';

const VISITOR = {
  customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
  sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
};

/** A feature module that does not import EsalesModule: it can only inject from a global one. */
@Injectable()
class ClickReporter {
  constructor(readonly esales: EsalesNotificationService) {}
}
@Module({ providers: [ClickReporter] })
class FeatureModule {}

describe('EsalesModule registration', () => {
  let standIn: ElevateStandIn;
  let options: EsalesModuleOptions;
  const apps: INestApplicationContext[] = [];
  const start = async (
    ...imports: Parameters<typeof boot>[0]
  ): Promise<INestApplicationContext> => {
    const { app } = await boot(imports);
    apps.push(app);
    return app;
  };
  /** Boots, sends one click through the service and checks the stand-in got it. */
  const sendsThrough = async (
    app: INestApplicationContext,
    via = app.get(EsalesNotificationService),
  ) => {
    standIn.clear();
    await via.sendNonEsalesClick({ ...VISITOR, productKey: 'p' });
    expect(standIn.accepted).toHaveLength(1);
  };

  beforeAll(async () => {
    standIn = await ElevateStandIn.start();
    options = { clusterUrl: standIn.url, allowInsecureClusterUrl: true, defaultMarket: 'UK' };
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  afterAll(() => standIn.close());

  it('forRoot', async () => {
    await sendsThrough(await start(EsalesModule.forRoot(options)));
  });

  it('forRootAsync with useFactory', async () => {
    await sendsThrough(
      await start(EsalesModule.forRootAsync({ useFactory: () => Promise.resolve(options) })),
    );
  });

  it('forRootAsync with useClass', async () => {
    @Injectable()
    class OptionsFactory implements EsalesOptionsFactory {
      createEsalesOptions(): EsalesModuleOptions {
        return options;
      }
    }
    await sendsThrough(await start(EsalesModule.forRootAsync({ useClass: OptionsFactory })));
  });

  it('forRootAsync with useExisting', async () => {
    @Injectable()
    class OptionsFactory implements EsalesOptionsFactory {
      createEsalesOptions(): EsalesModuleOptions {
        return options;
      }
    }
    @Module({ providers: [OptionsFactory], exports: [OptionsFactory] })
    class OptionsModule {}
    await sendsThrough(
      await start(
        EsalesModule.forRootAsync({ imports: [OptionsModule], useExisting: OptionsFactory }),
      ),
    );
  });

  it('forRootAsync with ConfigService', async () => {
    const app = await start(
      EsalesModule.forRootAsync({
        imports: [
          ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ elevate: options })] }),
        ],
        inject: [ConfigService],
        useFactory: (config: ConfigService) => config.getOrThrow<EsalesModuleOptions>('elevate'),
      }),
    );
    await sendsThrough(app);
  });

  describe('isGlobal', () => {
    it.each([
      ['forRoot', () => EsalesModule.forRoot({ ...options, isGlobal: true })],
      [
        'forRootAsync',
        () => EsalesModule.forRootAsync({ isGlobal: true, useFactory: () => options }),
      ],
    ])(
      '%s({ isGlobal: true }) lets a feature module inject the service',
      async (_name, register) => {
        const app = await start(register(), FeatureModule);
        await sendsThrough(app, app.get(ClickReporter).esales);
      },
    );

    it.each([
      ['forRoot', () => EsalesModule.forRoot(options)],
      ['forRootAsync', () => EsalesModule.forRootAsync({ useFactory: () => options })],
    ])('%s without isGlobal keeps the module local', async (_name, register) => {
      await expect(boot([register(), FeatureModule])).rejects.toThrow(/EsalesNotificationService/);
    });
  });

  describe('from the environment', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });
    const setEnv = (env: Record<string, string>) => {
      process.env = { ...saved, ...env };
    };

    it('forRootAsync(esalesConfig.asProvider())', async () => {
      setEnv({
        ESALES_CLUSTER_URL: standIn.url,
        ESALES_ALLOW_INSECURE_CLUSTER_URL: 'true',
        ESALES_DEFAULT_MARKET: 'Sweden',
      });
      const app = await start(
        ConfigModule.forRoot({ ignoreEnvFile: true }),
        EsalesModule.forRootAsync(esalesConfig.asProvider()),
      );
      await sendsThrough(app);
      expect(standIn.accepted[0]?.body).toMatchObject({ market: 'Sweden' });
    });

    it('forRootAsync(esalesConfig.asProvider()) names the variables when the env is invalid', async () => {
      setEnv({
        ESALES_CLUSTER_URL: standIn.url,
        ESALES_MARKETS: 'UK',
        ESALES_DEFAULT_MARKET: 'SE',
      });
      const error = await bootError([
        ConfigModule.forRoot({ ignoreEnvFile: true }),
        EsalesModule.forRootAsync(esalesConfig.asProvider()),
      ]);
      expect(error).toBeInstanceOf(EsalesConfigError);
      expect((error as EsalesConfigError).problems).toEqual([
        expect.stringContaining('clusterUrl (ESALES_CLUSTER_URL): must be an https:// URL'),
        'defaultMarket (ESALES_DEFAULT_MARKET): "SE" is not one of markets (ESALES_MARKETS) ("UK")',
      ]);
    });

    it('forRootAsync with ConfigService and esalesOptionsFromEnv', async () => {
      setEnv({
        ESALES_CLUSTER_URL: standIn.url,
        ESALES_ALLOW_INSECURE_CLUSTER_URL: '1',
        ESALES_DEFAULT_MARKET: 'UK',
      });
      const app = await start(
        EsalesModule.forRootAsync({
          imports: [ConfigModule.forRoot({ ignoreEnvFile: true })],
          inject: [ConfigService],
          useFactory: (config: ConfigService) =>
            esalesOptionsFromEnv({
              ESALES_CLUSTER_URL: config.get<string>('ESALES_CLUSTER_URL'),
              ESALES_ALLOW_INSECURE_CLUSTER_URL: config.get<string>(
                'ESALES_ALLOW_INSECURE_CLUSTER_URL',
              ),
              ESALES_DEFAULT_MARKET: config.get<string>('ESALES_DEFAULT_MARKET'),
            }),
        }),
      );
      await sendsThrough(app);
    });

    it('a malformed variable stops the app', async () => {
      setEnv({ ESALES_CLUSTER_ID: 'w1', ESALES_DEFAULT_MARKET: 'UK', ESALES_ENABLED: 'maybe' });
      const error = await bootError([
        ConfigModule.forRoot({ ignoreEnvFile: true }),
        EsalesModule.forRootAsync(esalesConfig.asProvider()),
      ]);
      expect(error).toBeInstanceOf(EsalesConfigError);
      expect((error as Error).message).toContain('ESALES_ENABLED: must be true or false');
    });
  });

  it('invalid options stop the app with one EsalesConfigError listing every problem', async () => {
    const error = await bootError([
      EsalesModule.forRoot({
        clusterUrl: 'http://cluster.example.com',
        defaultMarket: '',
        requestTimeoutMs: -1,
        privateKey: 'do-not-print-me',
        markets: { UK: { clusterId: 'no spaces' } },
      }),
    ]);
    expect(error).toBeInstanceOf(EsalesConfigError);
    const { problems, message } = error as EsalesConfigError;
    expect(problems).toEqual([
      'defaultMarket: must not be empty',
      'requestTimeoutMs: must be at least 1',
      'clusterUrl: must be an https:// URL (set allowInsecureClusterUrl to use http for a local stand-in)',
      'markets["UK"].clusterId: must contain only letters, digits and "-"',
    ]);
    expect(message).toContain('4 problems');
    expect(message).not.toContain('do-not-print-me');
  });

  describe('enabled: false', () => {
    it('does not need a cluster', async () => {
      const app = await start(EsalesModule.forRoot({ defaultMarket: 'UK', enabled: false }));
      await expect(
        app.get(EsalesNotificationService).sendNonEsalesClick({ ...VISITOR, productKey: 'p' }),
      ).resolves.toBeUndefined();
    });

    it('sends nothing, resolves, still validates, and says so once at boot', async () => {
      const { app, logs } = await boot([EsalesModule.forRoot({ ...options, enabled: false })]);
      apps.push(app);
      standIn.clear();
      const service = app.get(EsalesNotificationService);
      await expect(
        service.sendNonEsalesClick({ ...VISITOR, productKey: 'p' }),
      ).resolves.toBeUndefined();
      await expect(service.sendNonEsalesClick({ ...VISITOR })).rejects.toBeInstanceOf(
        EsalesValidationError,
      );
      expect(standIn.requests).toHaveLength(0);
      const disabledLines = logs.from('Esales').filter((line) => /disabled/.test(line.message));
      expect(disabledLines).toHaveLength(1);
      expect(disabledLines[0]?.level).toBe('log');
    });
  });

  describe('CustomerKeyAuthenticationService', () => {
    it('uses the private key configured for each market', async () => {
      const app = await start(
        EsalesModule.forRoot({
          ...options,
          privateKey: 'top-key',
          markets: { UK: {}, Sweden: { privateKey: 'se-key' }, Norway: {} },
        }),
      );
      const auth = app.get(CustomerKeyAuthenticationService);
      expect(auth.forVisitor('user-1')).toEqual(new CustomerKeyAuthentication('top-key', 'user-1'));
      expect(auth.forVisitor('user-1', 'Sweden')).toEqual(
        new CustomerKeyAuthentication('se-key', 'user-1'),
      );
      const { customerKey, token } = auth.forVisitor('user-1', 'Sweden');
      expect(auth.verify(customerKey, token, 'Sweden')).toBe(true);
      expect(auth.verify(customerKey, token, 'UK')).toBe(false);
      expect(auth.hasPrivateKey('Norway')).toBe(true);
      expect(auth.hasPrivateKey('Finland')).toBe(false);
      expect(() => auth.forVisitor('user-1', 'Finland')).toThrow(EsalesUnknownMarketError);
    });

    it('throws a clear error when the market has no private key', async () => {
      const app = await start(EsalesModule.forRoot(options));
      const auth = app.get(CustomerKeyAuthenticationService);
      expect(auth.hasPrivateKey()).toBe(false);
      expect(() => auth.forVisitor('user-1')).toThrow(EsalesConfigError);
      expect(() => auth.verify('a'.repeat(64), 'b'.repeat(64), 'UK')).toThrow(
        /no private key is configured for market "UK"/,
      );
    });
  });
});
