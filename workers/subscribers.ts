import { createKafka, createPostgres, createProducer, createS3 } from '../lib/platform/clients.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { servicePrincipal } from '../lib/kafka/access.js';
import { log } from '../lib/platform/log.js';
import { startTelemetry } from '../lib/platform/telemetry.js';
import { createSubscribers } from './subscriptions.js';

const telemetry = startTelemetry('metasync-subscribers');
const config = loadConfigOrExit(process.env, { METASYNC_KAFKA_USERNAME: servicePrincipal('subscribers') });
const kafka = createKafka(config.kafka, 'subscribers');
const producer = createProducer(kafka);
await producer.connect();
const postgres = createPostgres(config.postgres);
const subscribers = createSubscribers({ config, kafka, producer, postgres, s3: createS3(config.s3) });
await subscribers.start();
log.info('subscribers running', { brokers: config.kafka.brokers, subscriptions: subscribers.running() });

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (async () => {
      await subscribers.stop();
      await producer.disconnect();
      await postgres.end();
      await telemetry.shutdown();
      process.exit(0);
    })();
  });
}
