import type { S3Client } from '@aws-sdk/client-s3';
import type { Client as TemporalClient } from '@temporalio/client';
import type { Consumer, EachMessagePayload, Kafka, Producer } from 'kafkajs';
import type pg from 'pg';
import type { Config } from '../lib/config.js';
import type { TenantId } from '../lib/contracts.js';
import type { Decoded } from '../lib/decodeEvent.js';
import { deadLetter, type MessageOrigin as Origin } from '../lib/deadLetters.js';
import { log } from '../lib/log.js';
import { tenantGate } from '../lib/stores/tenants.js';

export interface BridgeDependencies {
  config: Config;
  kafka: Kafka;
  producer: Producer;
  temporal: TemporalClient;
  s3: S3Client;
  /** The control plane: events of an unknown or suspended tenant are refused. */
  postgres: pg.Pool;
}

export interface Bridge {
  groupId: string;
  consumer: Consumer;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A reason to refuse an event that decoded cleanly (e.g. its tenant is unknown); undefined lets it through. */
export type Admission<T> = (event: T) => Promise<string | undefined>;

/**
 * gRPC codes with which Temporal refuses a request for what it is (INVALID_ARGUMENT, OUT_OF_RANGE): such an event
 * is dead-lettered. Any other failure (Temporal down, overloaded) is retried and the offset stays, so nothing is lost.
 */
const PERMANENT_GRPC_CODES = new Set([3, 11]);
const grpcCode = (error: unknown): number | undefined => {
  const { code, cause } = error as { code?: unknown; cause?: { code?: unknown } };
  const found = typeof code === 'number' ? code : cause?.code;
  return typeof found === 'number' ? found : undefined;
};

/**
 * Consumes one topic and hands each event to Temporal (`deliver`: start or signal its workflow). The offset of a
 * message is committed only after Temporal accepted it (kafkajs commits after eachMessage resolves), so nothing is
 * lost; what cannot be decoded, is not admitted or is refused by Temporal goes to the dead-letter topic and S3 with
 * its reason, and the consumer moves on. Messages of one partition are handed over in order.
 */
export function createTopicBridge<T extends { tenant: TenantId }>(
  deps: BridgeDependencies,
  spec: {
    topic: string;
    groupId: string;
    decode: (message: { key: Buffer | null; value: Buffer | null }) => Decoded<T>;
    admit?: Admission<T>;
    deliver: (event: T, origin: Origin) => Promise<void>;
  },
): Bridge {
  const { config } = deps;
  const refusalFor = tenantGate(deps.postgres);
  const consumer = deps.kafka.consumer({ groupId: spec.groupId, maxBytesPerPartition: config.kafka.maxMessageBytes * 2 }); // prettier-ignore

  async function reject(origin: Origin, message: EachMessagePayload['message'], reason: string, tenant?: TenantId) {
    const archiveKey = await deadLetter(deps.s3, config.s3.bucket, deps.producer, { ...origin, ...message, tenant, reason }); // prettier-ignore
    log.warn('event dead-lettered', { ...origin, reason, archiveKey });
  }

  async function handle({ topic, partition, message }: EachMessagePayload): Promise<void> {
    const origin = { topic, partition, offset: message.offset };
    const decoded = spec.decode(message);
    if (!decoded.ok) return reject(origin, message, decoded.reason, decoded.tenant);
    // Every inbound topic answers to the control plane first: a tenant that is not (or no longer) served is refused.
    const refusal = (await refusalFor(decoded.event.tenant)) ?? (await spec.admit?.(decoded.event));
    if (refusal) return reject(origin, message, refusal, decoded.event.tenant);
    try {
      await spec.deliver(decoded.event, origin);
    } catch (error) {
      if (!PERMANENT_GRPC_CODES.has(grpcCode(error) ?? -1)) throw error; // kafkajs retries; the offset stays
      await reject(origin, message, `Temporal refused the event: ${(error as Error).message}`, decoded.event.tenant);
    }
  }

  return {
    groupId: spec.groupId,
    consumer,
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topic: spec.topic, fromBeginning: true });
      await consumer.run({ partitionsConsumedConcurrently: 3, eachMessage: handle });
    },
    async stop() {
      await consumer.disconnect();
    },
  };
}
