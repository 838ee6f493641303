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
    // METASYNC_BRIDGE_TENANTS shards the subscribers by tenant as it does the bridges; every tenant's by default.
    const tenants = deps.config.kafka.bridgeTenants;
    const subscribers = createSubscribers(deps, tenants ? { tenants } : {});
    await subscribers.start();
    log.info('subscribers running', { brokers: deps.config.kafka.brokers, subscriptions: subscribers.running() });
    return subscribers;
  },
);
