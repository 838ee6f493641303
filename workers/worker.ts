import { Runtime } from '@temporalio/worker';
import { servicePrincipal } from '../lib/kafka/access.js';
import { log } from '../lib/platform/log.js';
import { runProcess } from '../lib/platform/process.js';
import { createWorkers } from './createWorkers.js';
import { ACTIVITY_CLIENTS } from './dependencies.js';

await runProcess(
  {
    name: 'worker',
    defaults: {
      METASYNC_KAFKA_USERNAME: servicePrincipal('worker'),
      METASYNC_METRICS_PORT: '9465',
      METASYNC_TEMPORAL_METRICS_PORT: '9466',
    },
    clients: ACTIVITY_CLIENTS,
  },
  async (deps) => {
    const { metrics } = deps.config;
    // runProcess answers SIGINT and SIGTERM: it shuts the workers down, then closes their clients. The SDK's own
    // worker metrics (temporal_*: task slots, poll latency, sticky cache) are served by its Rust core on their port.
    Runtime.install({
      shutdownSignals: [],
      ...(metrics.temporalPort > 0 && {
        telemetryOptions: { metrics: { prometheus: { bindAddress: `${metrics.host}:${metrics.temporalPort}` } } },
      }),
    });
    const workers = await createWorkers(deps);
    log.info('worker running', { taskQueues: workers.map((worker) => worker.options.taskQueue) });
    const running = Promise.all(workers.map((worker) => worker.run()));
    return {
      done: running,
      async stop() {
        for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
      },
    };
  },
);
