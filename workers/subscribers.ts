import { servicePrincipal } from '../lib/kafka/access.js';
import { log } from '../lib/platform/log.js';
import { runProcess } from '../lib/platform/process.js';
import { createSubscribers } from './subscriptions.js';

await runProcess(
  {
    name: 'subscribers',
    defaults: { METASYNC_KAFKA_USERNAME: servicePrincipal('subscribers'), METASYNC_METRICS_PORT: '9468' },
    clients: { kafka: 'subscribers', producer: true, postgres: true, s3: true },
  },
  async (deps) => {
    const subscribers = createSubscribers(deps);
    await subscribers.start();
    log.info('subscribers running', { brokers: deps.config.kafka.brokers, subscriptions: subscribers.running() });
    return subscribers;
  },
);
