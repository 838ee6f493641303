import {
  connectTemporal,
  createCassandra,
  createKafka,
  createPostgres,
  createProducer,
  createS3,
} from '../lib/platform/clients.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { servicePrincipal } from '../lib/kafka/access.js';
import { log } from '../lib/platform/log.js';
import { startTelemetry } from '../lib/platform/telemetry.js';
import { createCommandBridge } from './commandBridge.js';
import { createIncidentBridge } from './incidentBridge.js';
import { createLineageBridge } from './lineageBridge.js';

const telemetry = startTelemetry('metasync-bridge');
const config = loadConfigOrExit(process.env, { METASYNC_KAFKA_USERNAME: servicePrincipal('bridge') });
const kafka = createKafka(config.kafka, 'bridge');
const producer = createProducer(kafka);
await producer.connect();
const temporal = await connectTemporal(config.temporal);
const postgres = createPostgres(config.postgres);
const cassandra = createCassandra(config.cassandra);
await cassandra.connect();
const deps = { config, kafka, producer, temporal, s3: createS3(config.s3), postgres };
const bridges = [createCommandBridge(deps), createIncidentBridge(deps), createLineageBridge({ ...deps, cassandra })];
await Promise.all(bridges.map((bridge) => bridge.start()));
log.info('bridge consuming', {
  brokers: config.kafka.brokers,
  principal: config.kafka.credentials?.username,
  groups: bridges.map((bridge) => bridge.groupId),
  tenants: config.kafka.bridgeTenants ?? 'all',
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (async () => {
      await Promise.all(bridges.map((bridge) => bridge.stop()));
      await postgres.end();
      await cassandra.shutdown();
      await producer.disconnect();
      await temporal.connection.close();
      await telemetry.shutdown();
      process.exit(0);
    })();
  });
}
