/**
 * Loaded before a process's entry point (`tsx --import ./lib/platform/telemetryPreload.mjs <entry>`, as the stack and
 * the tests start MetaSync's processes): when traces are wanted, the instrumentations must patch pg, kafkajs,
 * cassandra-driver, http and the AWS SDK before the entry point's imports load them, and an ES module's imports all
 * load before its first line runs. The ESM hook (import-in-the-middle, through @opentelemetry/instrumentation) lets
 * them patch modules that are imported rather than required. lib/platform/telemetry.ts says the rest.
 *
 * Plain JavaScript, and nothing in worker threads: Node 20 runs --import modules again in each worker thread (the
 * Temporal worker's workflow threads), where tsx's hooks do not reach, so a .ts preload would fail there; the
 * threads need no instrumentation (workflow spans leave them through the Temporal sink).
 */
import { register } from 'node:module';
import process from 'node:process';
import { isMainThread } from 'node:worker_threads';

/** The modules lib/platform/telemetry.ts's instrumentations patch (their InstrumentationNodeModuleDefinitions). */
const INSTRUMENTED = [
  'pg',
  'pg-pool',
  'kafkajs',
  'cassandra-driver',
  'http',
  'https',
  '@smithy/core',
  '@smithy/smithy-client',
  '@smithy/middleware-stack',
  '@aws-sdk/smithy-client',
  '@aws-sdk/middleware-stack',
];

if (isMainThread && (process.env['METASYNC_TRACES_URL'] || process.env['OTEL_EXPORTER_ZIPKIN_ENDPOINT'])) {
  // Only the modules the instrumentations patch go through the hook: a wrapped module's exports are reached through
  // getters, a cost on every call into it, which the rest of the code need not pay.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: INSTRUMENTED } });
  const { installInstrumentations } = await import('./telemetry.ts');
  installInstrumentations();
}
