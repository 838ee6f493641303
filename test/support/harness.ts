import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { loadConfig, type Config } from '../../lib/config.js';
import { createActivityDependencies } from '../../workers/dependencies.js';
import { createWorkers } from '../../workers/createWorkers.js';

/** Integration tests talk to the real stack (npm run stack:up); each run uses task queues no other process serves. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, METASYNC_TASK_QUEUE: `metasync-test-${process.pid}`, ...overrides });
}

export const uniqueId = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${process.pid}`;

/** Runs this checkout's workers in-process until `stop`; only their warnings reach the test output. */
export async function runWorkers(config: Config): Promise<{ stop(): Promise<void> }> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const deps = await createActivityDependencies(config);
  const workers: Worker[] = await createWorkers(deps);
  const running = Promise.all(workers.map((worker) => worker.run()));
  return {
    async stop() {
      workers.forEach((worker) => worker.shutdown());
      await running;
      await deps.close();
    },
  };
}

/** Collects what is published to a topic from now on: a fresh consumer group whose offsets are set to the end first. */
export async function tailTopic(kafka: Kafka, topic: string) {
  const groupId = uniqueId(`test-tail-${topic}`);
  const admin = kafka.admin();
  await admin.connect();
  await admin.resetOffsets({ groupId, topic, earliest: false });
  await admin.disconnect();
  const messages: KafkaMessage[] = [];
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic });
  await consumer.run({ eachMessage: ({ message }) => Promise.resolve(void messages.push(message)) });
  return {
    messages,
    async waitFor(predicate: (message: KafkaMessage) => boolean, timeoutMs = 60_000): Promise<KafkaMessage> {
      return eventually(() => messages.find(predicate), timeoutMs, `a message on ${topic}`);
    },
    stop: () => consumer.disconnect(),
  };
}

/** Polls until `probe` returns something, or fails naming what it waited for. */
export async function eventually<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
