/**
 * Loaded before a process's entry point (`tsx --import ./lib/platform/telemetryPreload.mjs <entry>`, as the stack and
 * the tests start MetaSync's processes): when traces are wanted, the instrumentations must patch pg, kafkajs,
 * cassandra-driver, http and the AWS SDK before the entry point's imports load them, and an ES module's imports all
 * load before its first line runs. installInstrumentations loads those packages itself, patched, so the entry point's
 * imports find them so; lib/platform/telemetry.ts says the rest.
 *
 * No ESM loader hook (import-in-the-middle): with one registered, every module resolution for as long as the process
 * ran took a detour through it, a fifth more worker CPU on a container load (docs/benchmarks.md).
 *
 * Plain JavaScript, and nothing in worker threads: Node 20 runs --import modules again in each worker thread (the
 * Temporal worker's workflow threads), where tsx's hooks do not reach, so a .ts preload would fail there; the
 * threads need no instrumentation (workflow spans leave them through the Temporal sink).
 */
import process from 'node:process';
import { isMainThread } from 'node:worker_threads';

if (isMainThread && (process.env['METASYNC_TRACES_URL'] || process.env['OTEL_EXPORTER_ZIPKIN_ENDPOINT'])) {
  const { installInstrumentations } = await import('./telemetry.ts');
  installInstrumentations();
}
