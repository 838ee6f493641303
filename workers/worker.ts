import { Runtime } from '@temporalio/worker';
import { servicePrincipal } from '../lib/kafka/access.js';
import { log } from '../lib/platform/log.js';
import { runProcess } from '../lib/platform/process.js';
import { createWorkers } from './createWorkers.js';
import { ACTIVITY_CLIENTS } from './dependencies.js';

await runProcess(
  { name: 'worker', defaults: { METASYNC_KAFKA_USERNAME: servicePrincipal('worker') }, clients: ACTIVITY_CLIENTS },
  async (deps) => {
    // runProcess answers SIGINT and SIGTERM: it shuts the workers down, then closes their clients.
    Runtime.install({ shutdownSignals: [] });
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
