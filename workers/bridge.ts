import { connectTemporal, createKafka, createProducer, createS3 } from '../lib/clients.js';
import { loadConfigOrExit } from '../lib/config.js';
import { log } from '../lib/log.js';
import { startTelemetry } from '../lib/telemetry.js';
import { createCommandBridge } from './commandBridge.js';

const telemetry = startTelemetry('metasync-bridge');
const config = loadConfigOrExit();
const kafka = createKafka(config.kafka, 'bridge');
const producer = createProducer(kafka);
await producer.connect();
const temporal = await connectTemporal(config.temporal);
const bridge = createCommandBridge({ config, kafka, producer, temporal, s3: createS3(config.s3) });
await bridge.start();
log.info('bridge consuming', { brokers: config.kafka.brokers });

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (async () => {
      await bridge.stop();
      await producer.disconnect();
      await temporal.connection.close();
      await telemetry.shutdown();
      process.exit(0);
    })();
  });
}
