import {
  Module,
  type ModuleMetadata,
  type INestApplicationContext,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CaptureLogger } from './capture-logger.js';

type Imports = NonNullable<ModuleMetadata['imports']>;

/**
 * Boots a real Nest application context around `imports` and returns it with its captured logs.
 * `abortOnError: false` makes boot failures reject instead of exiting the process.
 */
export async function boot(
  imports: Imports,
  providers: Type[] = [],
): Promise<{ app: INestApplicationContext; logs: CaptureLogger }> {
  @Module({ imports, providers })
  class TestAppModule {}
  const logs = new CaptureLogger();
  const app = await NestFactory.createApplicationContext(TestAppModule, {
    logger: logs,
    abortOnError: false,
  });
  return { app, logs };
}

/** The error a boot rejected with (fails the test when it booted). */
export async function bootError(imports: Imports): Promise<unknown> {
  try {
    const { app } = await boot(imports);
    await app.close();
  } catch (error) {
    return error;
  }
  throw new Error('expected the app to fail to boot, but it booted');
}
