import type { S3Client } from '@aws-sdk/client-s3';
import type { Client as TemporalClient } from '@temporalio/client';
import type { Admin, Consumer, EachMessagePayload, Kafka, Producer } from 'kafkajs';
import type pg from 'pg';
import type { Config } from '../lib/platform/config.js';
import type { TenantId } from '../lib/platform/ids.js';
import type { Decoded } from '../lib/kafka/decodeEvent.js';
import { startLagReporter } from '../lib/kafka/consumerLag.js';
import { deadLetter } from '../lib/kafka/deadLetters.js';
import type { MessageOrigin as Origin } from '../lib/kafka/envelope.js';
import { log, withLogFields } from '../lib/platform/log.js';
import { tenantGate } from '../lib/stores/tenants.js';
import { parseInboundTopic, type InboundKind } from '../lib/kafka/topics.js';

export interface BridgeDependencies {
  config: Config;
  kafka: Kafka;
  producer: Producer;
  temporal: TemporalClient;
  s3: S3Client;
  /** The control plane: events of an unknown or suspended tenant are refused. */
  postgres: pg.Pool;
}

export interface BridgeOptions {
  /** Serves only these tenants' topics (tests; or bridges sharded by tenant); METASYNC_BRIDGE_TENANTS, else all. */
  tenants?: readonly string[] | undefined;
}

export interface Bridge {
  groupId: string;
  /** The inbound topics it consumes now. */
  topics(): readonly string[];
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
 * Consumes every tenant's inbound topic of one kind (metasync.inbound.<tenant>.<kind>) and hands each event to
 * Temporal (`deliver`: start or signal its workflow). The topic names the tenant, and `decode` refuses an event whose
 * key or body names another. The offset of a message is committed only after Temporal accepted it (kafkajs commits
 * after eachMessage resolves), so nothing is lost; what cannot be decoded, is not admitted or is refused by Temporal
 * goes to the dead-letter topic and S3 with its reason, filed under the topic's tenant, and the consumer moves on.
 * Messages of one partition are handed over in order.
 *
 * kafkajs resolves a subscription's topics once, when it subscribes, so a tenant created later would not be read.
 * The bridge therefore lists the topics every METASYNC_KAFKA_TOPIC_REFRESH_SECONDS and, when the set changed,
 * subscribes again with a new consumer in the same group: a new tenant's first event waits at most that long plus
 * a rebalance. A new topic has no committed offset and is read from its beginning, so nothing produced before is lost.
 */
export function createTopicBridge<T extends { tenant: TenantId }>(
  deps: BridgeDependencies,
  spec: {
    kind: InboundKind;
    groupId: string;
    decode: (message: { key: Buffer | null; value: Buffer | null }, topicTenant: TenantId) => Decoded<T>;
    admit?: Admission<T>;
    deliver: (event: T, origin: Origin) => Promise<void>;
  },
  options: BridgeOptions = {},
): Bridge {
  const { config } = deps;
  const refusalFor = tenantGate(deps.postgres);
  const served = options.tenants ?? config.kafka.bridgeTenants;
  const servedSet = served ? new Set(served) : undefined;
  const wanted = (topic: string) => {
    const parsed = parseInboundTopic(topic);
    return parsed?.kind === spec.kind && (!servedSet || servedSet.has(parsed.tenant));
  };

  async function reject(origin: Origin, message: EachMessagePayload['message'], reason: string, tenant: TenantId) {
    const archiveKey = await deadLetter(deps.s3, config.s3.bucket, deps.producer, {
      ...origin,
      ...message,
      tenant,
      reason,
    });
    log.warn('event dead-lettered', { ...origin, reason, archiveKey });
  }

  /** Every line logged while a record is handled names its tenant (and its trace, from the consumer's span). */
  function handle(payload: EachMessagePayload): Promise<void> {
    // Subscribed topics all parse (`wanted`); the tenant in the name is the only one this record may speak for.
    const topicTenant = parseInboundTopic(payload.topic)!.tenant;
    return withLogFields({ tenant: topicTenant }, () => handleRecord(payload, topicTenant));
  }

  async function handleRecord({ topic, partition, message }: EachMessagePayload, topicTenant: TenantId) {
    const origin = { topic, partition, offset: message.offset, timestamp: message.timestamp };
    const decoded = spec.decode(message, topicTenant);
    if (!decoded.ok) return reject(origin, message, decoded.reason, topicTenant);
    // Every inbound topic answers to the control plane first: a tenant that is not (or no longer) served is refused.
    const refusal = (await refusalFor(decoded.event.tenant)) ?? (await spec.admit?.(decoded.event));
    if (refusal) return reject(origin, message, refusal, topicTenant);
    try {
      await spec.deliver(decoded.event, origin);
    } catch (error) {
      if (!PERMANENT_GRPC_CODES.has(grpcCode(error) ?? -1)) throw error; // kafkajs retries; the offset stays
      await reject(origin, message, `Temporal refused the event: ${(error as Error).message}`, topicTenant);
    }
  }

  let admin: Admin | undefined;
  let lag: ReturnType<typeof startLagReporter> | undefined;
  let consumer: Consumer | undefined;
  let crashed = false;
  let consuming: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  let refreshing: Promise<void> = Promise.resolve();
  let stopped = false;

  /** Subscribes anew when the topics of the kind (or the consumer's health) changed since the last look. */
  async function refresh(): Promise<void> {
    const topics = (await admin!.listTopics()).filter(wanted).sort();
    if (!crashed && topics.length === consuming.length && topics.every((topic, i) => topic === consuming[i])) return;
    const added = topics.filter((topic) => !consuming.includes(topic));
    await consumer?.disconnect();
    consumer = undefined;
    consuming = [];
    crashed = false;
    if (topics.length === 0 || stopped) return;
    const next = deps.kafka.consumer({ groupId: spec.groupId, maxBytesPerPartition: config.kafka.maxMessageBytes * 2 });
    next.on(next.events.CRASH, ({ payload }) => {
      if (payload.restart) return;
      crashed = true;
      log.error('bridge consumer crashed; subscribing again at the next topic refresh', {
        groupId: spec.groupId,
        error: payload.error.message,
      });
    });
    await next.connect();
    await next.subscribe({ topics, fromBeginning: true });
    await next.run({ partitionsConsumedConcurrently: 3, eachMessage: handle });
    consumer = next;
    consuming = topics;
    log.info('bridge subscribed', {
      groupId: spec.groupId,
      kind: spec.kind,
      topics: topics.length,
      added: added.slice(0, 20),
    });
  }

  function schedule(): void {
    timer = setTimeout(() => {
      refreshing = refresh()
        .catch((error: Error) =>
          log.warn('bridge could not refresh its topics; trying again', {
            groupId: spec.groupId,
            error: error.message,
          }),
        )
        .finally(() => {
          if (!stopped) schedule();
        });
    }, config.kafka.topicRefreshMs);
  }

  return {
    groupId: spec.groupId,
    topics: () => consuming,
    async start() {
      admin = deps.kafka.admin();
      await admin.connect();
      await refresh();
      schedule();
      lag = startLagReporter(admin, () => [{ groupId: spec.groupId, topics: consuming }], config.kafka.lagIntervalMs);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await lag?.stop();
      await refreshing;
      await consumer?.disconnect();
      await admin?.disconnect();
    },
  };
}
