/**
 * `nestjs-esales/bullmq`: durable delivery on BullMQ and Redis. A separate entry point, so apps on
 * the default in-memory delivery need neither `bullmq` nor `ioredis` (optional peers);
 * `delivery: 'bullmq'` (or `ESALES_DELIVERY=bullmq`) loads it when the app starts.
 */
export { BullmqDeliveryBackend } from './bullmq/bullmq-delivery.backend.js';
export type { EsalesBullmqJobData } from './bullmq/job-data.js';
export { jobIdOf } from './bullmq/job-data.js';
export type { OutcomeReport as EsalesBullmqOutcome } from './bullmq/outcome-report.js';
