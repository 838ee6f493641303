import type { S3Client } from '@aws-sdk/client-s3';
import type { Client as TemporalClient } from '@temporalio/client';
import { context, trace, type Span } from '@opentelemetry/api';
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import pLimit from 'p-limit';
import type pg from 'pg';
import type { Config } from '../lib/platform/config.js';
import type { TenantId } from '../lib/platform/ids.js';
import type { Decoded } from '../lib/kafka/decodeEvent.js';
import { startLagReporter } from '../lib/kafka/consumerLag.js';
import { deadLetter } from '../lib/kafka/deadLetters.js';
import { offsetCommitter, type OffsetCommitter } from '../lib/kafka/offsetCommitter.js';
import type { MessageOrigin as Origin } from '../lib/kafka/envelope.js';
import { log, withLogFields } from '../lib/platform/log.js';
import { inTraces, startMessageSpan, traceContextOf } from '../lib/platform/messageTraces.js';
import type { WorkflowTrace } from '../lib/temporal/workflowTrace.js';
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

/** An event with where it was read and the trace of its message, as a batch delivers it. */
export interface Delivery<T> {
  event: T;
  origin: Origin;
  trace?: WorkflowTrace | undefined;
}

/**
 * At most this many events, and this many bytes of them, go to Temporal in one request: a burst's backlog is handed
 * over in bites well under Temporal's 2 MB payload limit.
 */
const MAX_EVENTS_PER_DELIVERY = 500;
const MAX_BYTES_PER_DELIVERY = 512 * 1024;

/**
 * How often the offsets of handed-over events are committed: off the path each event waits on, at the cost of reading
 * again, after a crash, at most this long's events (passed over as redeliveries).
 */
const COMMIT_INTERVAL_MS = 250;

/** Keys of a chunk whose events are delivered side by side, when each event is its own request. */
const KEYS_AT_ONCE = 32;

/** Splits a partition's fetched messages into consecutive runs of at most so many events and bytes. */
export function deliveryChunks<M extends { value: Buffer | null }>(messages: readonly M[]): M[][] {
  const chunks: M[][] = [];
  let chunk: M[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = message.value?.length ?? 0;
    if (chunk.length > 0 && (chunk.length >= MAX_EVENTS_PER_DELIVERY || bytes + size > MAX_BYTES_PER_DELIVERY)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

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
 * Consumes every tenant's inbound topic of one kind (metasync.inbound.<tenant>.<kind>) in batches and hands the
 * events over: a chunk of a partition's events at once (`deliverBatch`: one update of the partition's workflow, one
 * write), or each event on its own (`deliver`: start or signal its workflow), events of different keys side by side
 * and those of one key in order. The topic names the tenant, and `decode` refuses an event whose key or body names
 * another. A chunk's offsets are committed only after it was handed over, so nothing is lost; what cannot be decoded,
 * is not admitted or is refused by Temporal goes to the dead-letter topic and S3 with its reason, filed under the
 * topic's tenant, and the consumer moves on.
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
  } & (
    | { deliver: (event: T, origin: Origin) => Promise<void> }
    /** Consecutive events of one partition, in order, handed over at once; offsets are committed when it resolves. */
    | { deliverBatch: (deliveries: Delivery<T>[]) => Promise<void> }
  ),
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

  async function reject(origin: Origin, message: KafkaMessage, reason: string, tenant: TenantId) {
    const archiveKey = await deadLetter(deps.s3, config.s3.bucket, deps.producer, {
      ...origin,
      ...message,
      tenant,
      reason,
    });
    log.warn('event dead-lettered', { ...origin, reason, archiveKey });
  }

  /** The event of a record, or undefined once it was dead-lettered (undecodable, or refused). */
  async function admitted(origin: Origin, message: KafkaMessage, topicTenant: TenantId): Promise<T | undefined> {
    const decoded = spec.decode(message, topicTenant);
    if (!decoded.ok) return void (await reject(origin, message, decoded.reason, topicTenant));
    // Every inbound topic answers to the control plane first: a tenant that is not (or no longer) served is refused.
    const refusal = (await refusalFor(decoded.event.tenant)) ?? (await spec.admit?.(decoded.event));
    if (refusal) return void (await reject(origin, message, refusal, topicTenant));
    return decoded.event;
  }

  /** Temporal refusing the request for what it is dead-letters its events; any other failure is retried. */
  async function handOver(deliver: () => Promise<void>, refused: (reason: string) => Promise<void>) {
    try {
      await deliver();
    } catch (error) {
      if (!PERMANENT_GRPC_CODES.has(grpcCode(error) ?? -1)) throw error; // kafkajs retries; the offset stays
      await refused(`Temporal refused the event: ${(error as Error).message}`);
    }
  }

  /**
   * A partition's fetched messages, handed over a chunk at a time, each chunk's offsets committed once it is
   * delivered, and the next chunk after: a slow Temporal or lake slows the consumer instead of piling work up in
   * memory. With `deliverBatch` one request carries the work of the whole chunk; with `deliver`, the chunk's events go
   * one request each, those of different keys side by side and those of one key in order.
   */
  function handleBatch(payload: EachBatchPayload): Promise<void> {
    const topicTenant = parseInboundTopic(payload.batch.topic)!.tenant;
    return withLogFields({ tenant: topicTenant }, () => handleBatchOf(payload, topicTenant));
  }

  async function handleBatchOf(payload: EachBatchPayload, topicTenant: TenantId) {
    const { topic, partition } = payload.batch;
    for (const chunk of deliveryChunks(payload.batch.messages)) {
      if (!payload.isRunning() || payload.isStale()) return;
      // Each message in its own trace, as the producer started it; the chunk's hand-over in the first one's.
      const spans = chunk.map((message) => startMessageSpan(topic, partition, message));
      try {
        const deliveries: Delivery<T>[] = [];
        const sent: { message: KafkaMessage; span: Span; index: number }[] = [];
        for (const [i, message] of chunk.entries()) {
          const origin = { topic, partition, offset: message.offset, timestamp: message.timestamp };
          const event = await context.with(trace.setSpan(context.active(), spans[i]!), () =>
            admitted(origin, message, topicTenant),
          );
          if (event === undefined) continue;
          sent.push({ message, span: spans[i]!, index: deliveries.length });
          deliveries.push({ event, origin, trace: traceContextOf(spans[i]!) });
        }
        if (deliveries.length > 0 && 'deliverBatch' in spec) {
          const { deliverBatch } = spec;
          const attributes = { 'messaging.destination.name': topic, 'metasync.events': deliveries.length };
          await inTraces(
            deliveries.map(({ trace: carried }) => carried),
            `${spec.kind} delivered`,
            attributes,
            () =>
              handOver(
                () => deliverBatch(deliveries),
                async (reason) => {
                  for (const [i, { message }] of sent.entries()) {
                    await reject(deliveries[i]!.origin, message, reason, topicTenant);
                  }
                },
              ),
          );
        } else if (deliveries.length > 0 && 'deliver' in spec) {
          const { deliver } = spec;
          const limit = pLimit(KEYS_AT_ONCE);
          const byKey = new Map<string, typeof sent>();
          for (const one of sent) {
            const key = one.message.key?.toString() ?? '';
            const ofKey = byKey.get(key);
            if (ofKey) ofKey.push(one);
            else byKey.set(key, [one]);
          }
          await Promise.all(
            [...byKey.values()].map((ofKey) =>
              limit(async () => {
                for (const { message, span, index } of ofKey) {
                  const { event, origin } = deliveries[index]!;
                  await context.with(trace.setSpan(context.active(), span), () =>
                    handOver(
                      () => deliver(event, origin),
                      (reason) => reject(origin, message, reason, topicTenant),
                    ),
                  );
                }
              }),
            ),
          );
        }
        const last = chunk.at(-1)!.offset;
        payload.resolveOffset(last);
        committer?.mark(topic, partition, String(Number(last) + 1));
        await payload.heartbeat();
      } finally {
        for (const span of spans) span.end();
      }
    }
  }

  let admin: Admin | undefined;
  let lag: ReturnType<typeof startLagReporter> | undefined;
  let consumer: Consumer | undefined;
  let committer: OffsetCommitter | undefined;
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
    await committer?.stop();
    await consumer?.disconnect();
    consumer = undefined;
    committer = undefined;
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
    committer = offsetCommitter(
      (offsets) => next.commitOffsets(offsets),
      COMMIT_INTERVAL_MS,
      (error) =>
        log.warn('bridge could not commit its offsets; trying again', { groupId: spec.groupId, error: error.message }),
    );
    // One chunk in flight per partition, every partition at once: a tenant's partitions are few (2 by default).
    // Offsets are committed by the committer, not after each batch (kafkajs's auto-commit is a round trip per batch).
    await next.run({
      partitionsConsumedConcurrently: 16,
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: handleBatch,
    });
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
      await committer?.stop();
      await consumer?.disconnect();
      await admin?.disconnect();
    },
  };
}
