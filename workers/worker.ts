import { Runtime } from '@temporalio/worker';
import { createActivityDependencies } from './dependencies.js';
import { createWorkers } from './createWorkers.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { servicePrincipal } from '../lib/kafka/access.js';
import { log } from '../lib/platform/log.js';
import { startTelemetry } from '../lib/platform/telemetry.js';

const telemetry = startTelemetry('metasync-worker');
const config = loadConfigOrExit(process.env, { METASYNC_KAFKA_USERNAME: servicePrincipal('worker') });
Runtime.install({ shutdownSignals: ['SIGINT', 'SIGTERM'] });
const deps = await createActivityDependencies(config);
const workers = await createWorkers(deps);
log.info('worker running', { taskQueues: workers.map((worker) => worker.options.taskQueue) });
try {
  await Promise.all(workers.map((worker) => worker.run()));
} finally {
  await deps.close();
  await telemetry.shutdown();
}
