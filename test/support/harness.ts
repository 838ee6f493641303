import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { createServer } from 'node:net';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { loadConfig, type Config } from '../../lib/platform/config.js';
import { TenantId } from '../../lib/platform/ids.js';
import { createActivityDependencies } from '../../workers/dependencies.js';
import { createWorkers } from '../../workers/createWorkers.js';
import { asService } from './kafka.js';

/**
 * Integration tests talk to the real stack (npm run stack:up); each run uses task queues no other process serves.
 * On Kafka a test is the admin unless it says otherwise (test/support/kafka.ts runs components as their principals).
 * Their sources are the stack's, on 127.0.0.1: the destination policy's development setting allows loopback (still
 * refusing MetaSync's own endpoints). test/integration/securityBoundary.test.ts checks the real default.
 */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    METASYNC_KAFKA_USERNAME: 'metasync-admin',
    ...process.env,
    METASYNC_TASK_QUEUE: `metasync-test-${process.pid}`,
    METASYNC_DESTINATIONS_ALLOW_LOOPBACK: 'true',
    ...overrides,
  });
}

export const uniqueId = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${process.pid}`;

/** A tenant of this run: lowercase and a valid TenantId, so it can name topics, S3 prefixes, keys and workflows. */
export const uniqueTenant = (prefix: string): TenantId => TenantId.parse(uniqueId(prefix.toLowerCase()));

/**
 * Runs this checkout's workers in-process, as the worker's Kafka principal, until `stop`; only warnings show. With
 * METASYNC_TEMPORAL_METRICS_PORT set, the Temporal SDK serves its worker metrics there, as workers/worker.ts does
 * (the SDK's runtime is one per process, made here: set it in the config of a suite's first runWorkers).
 */
export async function runWorkers(config: Config): Promise<{ stop(): Promise<void> }> {
  const { host, temporalPort } = config.metrics;
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    ...(temporalPort > 0 && {
      telemetryOptions: { metrics: { prometheus: { bindAddress: `${host}:${temporalPort}` } } },
    }),
  });
  const deps = await createActivityDependencies(asService(config, 'worker'));
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

/**
 * Commits a new consumer group's offsets at the topic's current end, so it sees only what is produced from now on.
 * (kafkajs's resetOffsets stores -1 for "latest", which a consumer subscribed fromBeginning reads as "earliest".)
 */
export async function pinGroupToEnd(kafka: Kafka, groupId: string, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({
    groupId,
    topic,
    partitions: ends.map(({ partition, high }) => ({ partition, offset: high })),
  });
  await admin.disconnect();
}

/** A consumer group id for a test: MetaSync's services may use groups under `metasync-` (lib/kafka/access.ts). */
export const testGroup = (name: string): string => uniqueId(`metasync-test-${name}`);

/** Collects what is published to a topic from now on, through a fresh consumer group pinned to the end. */
export async function tailTopic(kafka: Kafka, topic: string) {
  const groupId = testGroup(`tail-${topic}`);
  await pinGroupToEnd(kafka, groupId, topic);
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

export type Tail = Awaited<ReturnType<typeof tailTopic>>;

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

/**
 * What a workflow and its running children are doing, for a test that waited too long: each one's status and
 * pending activities (type, attempt, last failure), one line each.
 */
export async function whatItIsDoing(temporal: Client, workflowId: string, depth = 2): Promise<string> {
  const description = await temporal.workflow.getHandle(workflowId).describe();
  const activities = (description.raw.pendingActivities ?? []).map((activity) => {
    const failure = activity.lastFailure?.message
      ? `, last failure: ${activity.lastFailure.message.slice(0, 300)}`
      : '';
    return `${activity.activityType?.name} (attempt ${activity.attempt}, ${activity.state}${failure})`;
  });
  const ended =
    description.status.name === 'FAILED'
      ? await temporal.workflow
          .getHandle(workflowId)
          .result()
          .then(
            () => '',
            (error: unknown) => `, failed: ${String((error as Error).cause ?? error).slice(0, 500)}`,
          )
      : '';
  const lines = [
    `${workflowId}: ${description.status.name}${ended}; pending activities: ${activities.join('; ') || 'none'}`,
  ];
  if (depth > 0) {
    for (const child of description.raw.pendingChildren ?? []) {
      if (child.workflowId) lines.push(await whatItIsDoing(temporal, child.workflowId, depth - 1));
    }
  }
  return lines.join('\n');
}

/** A port free now on 127.0.0.1, for a server or process a test starts on a port of its own. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
