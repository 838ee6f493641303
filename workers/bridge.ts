import { servicePrincipal } from '../lib/kafka/access.js';
import { log } from '../lib/platform/log.js';
import { runProcess } from '../lib/platform/process.js';
import { createCommandBridge } from './commandBridge.js';
import { createIncidentBridge } from './incidentBridge.js';
import { createLineageBridge } from './lineageBridge.js';

await runProcess(
  {
    name: 'bridge',
    defaults: { METASYNC_KAFKA_USERNAME: servicePrincipal('bridge'), METASYNC_METRICS_PORT: '9467' },
    clients: { kafka: 'bridge', producer: true, temporal: true, postgres: true, cassandra: true, s3: true },
  },
  async (deps) => {
    const { config } = deps;
    const bridges = [createCommandBridge(deps), createIncidentBridge(deps), createLineageBridge(deps)];
    await Promise.all(bridges.map((bridge) => bridge.start()));
    log.info('bridge consuming', {
      brokers: config.kafka.brokers,
      principal: config.kafka.credentials?.username,
      groups: bridges.map((bridge) => bridge.groupId),
      tenants: config.kafka.bridgeTenants ?? 'all',
    });
    return { stop: async () => void (await Promise.all(bridges.map((bridge) => bridge.stop()))) };
  },
);
