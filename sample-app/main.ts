import { Logger } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { metricsEnabled, SampleMetrics } from './metrics/sample-metrics.js';
import { startEmbeddedStandIn } from './stand-in/embedded-stand-in.js';
import { applyBeaconDefault } from './storefront/beacon.js';

const logger = new Logger('SampleApp');

function portFrom(value: string | undefined): number {
  const port = Number(value?.trim() || 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(
      `PORT must be a whole number from 0 to 65535 (0: any free port); got "${value}"`,
    );
  }
  return port;
}

// Importing AppModule ran ConfigModule.forRoot(), which copies sample-app/.env into process.env;
// whether to start the stand-in depends on what the file says.
await ConfigModule.envVariablesLoaded;
const port = portFrom(process.env['PORT']);
const host = process.env['HOST']?.trim() || '127.0.0.1';

const standIn = await startEmbeddedStandIn();
// The storefront's "recommended for you" clicks go to the package's beacon endpoint: on at
// /esales/notify unless ESALES_BEACON_PATH says otherwise (and only if this nestjs-esales has one).
applyBeaconDefault();
// ESALES_METRICS=true: the OpenTelemetry SDK the package's metrics go to, registered before
// EsalesModule boots, and GET /metrics to read them.
const sampleMetrics = metricsEnabled() ? SampleMetrics.start() : undefined;
const app = await NestFactory.create(AppModule.register(standIn, sampleMetrics));
// SIGTERM and SIGINT close the app: the HTTP server stops taking clicks, the queue drains (up to
// ESALES_SHUTDOWN_TIMEOUT_MS), then the stand-in closes; the metrics SDK, if started, shuts down.
app.enableShutdownHooks();
await app.listen(port, host);
// The e2e test reads the URL from this line.
logger.log(`Sample app listening on ${await app.getUrl()}`);
