/**
 * Loaded before a process's entry point (`tsx --import ./lib/platform/telemetryPreload.ts <entry>`, as the stack and
 * the tests start MetaSync's processes) when traces are wanted: the instrumentations must patch pg, kafkajs,
 * cassandra-driver, http and the AWS SDK before the entry point's imports load them, and an ES module's imports all
 * load before its first line runs. The ESM hook (import-in-the-middle, through @opentelemetry/instrumentation) lets
 * them patch modules that are imported rather than required. lib/platform/telemetry.ts says the rest.
 */
import { register } from 'node:module';
import { installInstrumentations, tracesWanted } from './telemetry.js';

if (tracesWanted(process.env)) {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  installInstrumentations();
}
