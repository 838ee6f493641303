import type { S3Client } from '@aws-sdk/client-s3';
import { WorkflowExecutionAlreadyStartedError, type Client as TemporalClient } from '@temporalio/client';
import type { Consumer, EachMessagePayload, Kafka, Producer } from 'kafkajs';
import { decodeCommand } from '../lib/commands.js';
import type { Config } from '../lib/config.js';
import type { Command } from '../lib/contracts.js';
import { deadLetter } from '../lib/deadLetters.js';
import { log } from '../lib/log.js';
import { runSearchAttributes } from '../lib/searchAttributes.js';
import { topics } from '../lib/topics.js';
import { skeletonWorkflowId } from '../lib/workflowIds.js';
import { skeletonRequested, skeletonRun } from '../workflows/index.js';

export interface CommandBridgeDependencies {
  config: Config;
  kafka: Kafka;
  producer: Producer;
  temporal: TemporalClient;
  s3: S3Client;
}

export interface CommandBridge {
  groupId: string;
  consumer: Consumer;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * gRPC codes with which Temporal refuses a request for what it is (INVALID_ARGUMENT, OUT_OF_RANGE): such a command
 * is dead-lettered. Any other failure (Temporal down, overloaded) is retried and the offset stays, so nothing is lost.
 */
const PERMANENT_GRPC_CODES = new Set([3, 11]);
const grpcCode = (error: unknown): number | undefined => {
  const { code, cause } = error as { code?: unknown; cause?: { code?: unknown } };
  const found = typeof code === 'number' ? code : cause?.code;
  return typeof found === 'number' ? found : undefined;
};

/**
 * Consumes the commands topic and starts or signals one workflow per command. The offset of a message is
 * committed only after Temporal accepted it (kafkajs commits after eachMessage resolves), so nothing is lost;
 * a replayed command signals the run it already started instead of starting another.
 */
export function createCommandBridge(
  deps: CommandBridgeDependencies,
  groupId = 'metasync-command-bridge',
): CommandBridge {
  const { config, temporal } = deps;
  const consumer = deps.kafka.consumer({ groupId, maxBytesPerPartition: config.kafka.maxMessageBytes * 2 });

  async function startOrSignal(command: Command): Promise<void> {
    const { tenant, payload } = command;
    try {
      await temporal.workflow.signalWithStart(skeletonRun, {
        workflowId: skeletonWorkflowId(tenant, payload.runId),
        taskQueue: config.temporal.taskQueue,
        args: [{ tenant, ...payload }],
        signal: skeletonRequested,
        signalArgs: [{ eventId: command.id }],
        // A finished run is not started again by a replayed command.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: runSearchAttributes(tenant, 'skeleton'),
      });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return;
      throw error;
    }
  }

  async function handle({ topic, partition, message }: EachMessagePayload): Promise<void> {
    const decoded = decodeCommand(message.key, message.value, config.kafka.maxMessageBytes);
    const where = { topic, partition, offset: message.offset };
    if (!decoded.ok) {
      const archiveKey = await deadLetter(deps.s3, config.s3.bucket, deps.producer, {
        ...where,
        ...message,
        ...decoded,
      });
      log.warn('command rejected', { ...where, reason: decoded.reason, archiveKey });
      return;
    }
    try {
      await startOrSignal(decoded.command);
    } catch (error) {
      if (!PERMANENT_GRPC_CODES.has(grpcCode(error) ?? -1)) throw error; // kafkajs retries; the offset stays
      const reason = `Temporal refused the command: ${(error as Error).message}`;
      const archiveKey = await deadLetter(deps.s3, config.s3.bucket, deps.producer, {
        ...where,
        ...message,
        tenant: decoded.command.tenant,
        reason,
      });
      log.error('command dead-lettered', { ...where, reason, archiveKey });
    }
  }

  return {
    groupId,
    consumer,
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topic: topics.commands, fromBeginning: true });
      await consumer.run({ partitionsConsumedConcurrently: 3, eachMessage: handle });
    },
    async stop() {
      await consumer.disconnect();
    },
  };
}
