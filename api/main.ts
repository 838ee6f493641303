import { servicePrincipal } from '../lib/kafka/access.js';
import { log } from '../lib/platform/log.js';
import { runProcess } from '../lib/platform/process.js';
import { incidentStore } from '../lib/stores/incidents.js';
import { buildApi } from './server.js';

await runProcess(
  {
    name: 'api',
    defaults: { METASYNC_KAFKA_USERNAME: servicePrincipal('api'), METASYNC_METRICS_PORT: '9464' },
    clients: { kafka: 'api', producer: true, temporal: true, postgres: true, cassandra: true, s3: true },
  },
  async ({ config, postgres, producer, s3, cassandra, temporal }) => {
    const incidents = incidentStore(cassandra);
    const app = await buildApi({ config, postgres, producer, s3, incidents, cassandra, temporal });
    const url = await app.listen({ host: config.api.host, port: config.api.port });
    log.info('api listening', { url });
    // Closing answers the requests in flight before the clients go, so a webhook being produced is not cut off.
    return { stop: () => app.close() };
  },
);
