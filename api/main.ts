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
import { incidentStore } from '../lib/stores/incidents.js';
import { startTelemetry } from '../lib/platform/telemetry.js';
import { buildApi } from './server.js';

const telemetry = startTelemetry('metasync-api');
const config = loadConfigOrExit(process.env, { METASYNC_KAFKA_USERNAME: servicePrincipal('api') });
const postgres = createPostgres(config.postgres);
const producer = createProducer(createKafka(config.kafka, 'api'));
await producer.connect();
const cassandra = createCassandra(config.cassandra);
await cassandra.connect();
const s3 = createS3(config.s3);
const temporal = await connectTemporal(config.temporal);
const app = await buildApi({
  config,
  postgres,
  producer,
  s3,
  incidents: incidentStore(cassandra),
  cassandra,
  temporal,
});
const url = await app.listen({ host: config.api.host, port: config.api.port });
log.info('api listening', { url });

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (async () => {
      await app.close(); // answers the requests in flight, so a webhook being produced is not cut off
      await producer.disconnect();
      await temporal.connection.close();
      await cassandra.shutdown();
      await postgres.end();
      s3.destroy();
      await telemetry.shutdown();
      process.exit(0);
    })();
  });
}
