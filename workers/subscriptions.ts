import type { S3Client } from '@aws-sdk/client-s3';
import kafkajs, { type EachMessagePayload, type KafkaMessage } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { Subscription } from '../lib/subscriptions/contracts.js';
import { deadLetter } from '../lib/kafka/deadLetters.js';
import type { MessageOrigin } from '../lib/kafka/envelope.js';
import { startLagReporter } from '../lib/kafka/consumerLag.js';
import { ensureTopic } from '../lib/kafka/ensureTopic.js';
import { log } from '../lib/platform/log.js';
import { metrics } from '../lib/platform/metrics.js';
import {
  loadSubscriptions,
  recordDelivered,
  recordFailure,
  recordRecovered,
  type SubscriptionRow,
} from '../lib/stores/subscriptions.js';
import { createSink } from '../lib/subscriptions/sinks/index.js';
import type { Sink, SinkDependencies } from '../lib/subscriptions/sinks/sink.js';
import { matches, reshape } from '../lib/subscriptions/transform.js';
import { decodeAnnotationChanged } from '../lib/kafka/outbound.js';
import { outboundTopic } from '../lib/kafka/topics.js';

/**
 * Runs subscriptions: one consumer group per subscription on its tenant's outbound topic, reading from the beginning
 * when the subscription is new. Each change is validated (what is invalid goes to the dead-letter topic with its
 * reason), filtered, reshaped and handed to the sink. A sink that fails gets the same change again, with backoff, for
 * as long as it takes: the offset is not committed meanwhile, so nothing is dropped and the changes after it wait
 * their turn. The failure shows on the subscription's row (last_error, failing_since) until a delivery succeeds.
 */

export interface SubscriberDependencies extends SinkDependencies {
  s3: S3Client;
}

export interface SubscriberOptions {
  /** Runs only these tenants' subscriptions (tests, or subscribers sharded by tenant); every tenant's by default. */
  tenants?: readonly string[];
  /** How often PostgreSQL is asked for new, changed and removed subscriptions. */
  pollMs?: number;
  /** The longest wait between two attempts at a failing change. */
  maxBackoffMs?: number;
}

const FIRST_BACKOFF_MS = 500;
/** A consumer blocked on a failing sink still heartbeats this often, so the group does not evict it. */
const HEARTBEAT_MS = 3_000;

export const subscriptionGroupId = (groupPrefix: string, tenant: string, id: string): string =>
  `${groupPrefix}-subscription-${tenant}-${id}`;

/** A connection refused on every address is an AggregateError with an empty message: its parts say what failed. */
function describeError(error: unknown): string {
  const { message, errors } = error as { message?: string; errors?: unknown[] };
  if (message) return message;
  if (Array.isArray(errors) && errors.length) return [...new Set(errors.map(describeError))].join('; ');
  return String(error);
}

export interface SubscriptionConsumer {
  groupId: string;
  /** The tenant's outbound topic it reads. */
  topic: string;
  /** kafkajs gave up on it (an error it does not retry): the supervisor starts it again. */
  readonly crashed: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createSubscriptionConsumer(
  deps: SubscriberDependencies,
  subscription: { tenant: string; id: string; spec: Subscription },
  options: SubscriberOptions = {},
): SubscriptionConsumer {
  const { config, postgres } = deps;
  const { tenant, id, spec } = subscription;
  const topic = outboundTopic(tenant);
  const groupId = subscriptionGroupId(config.kafka.groupPrefix, tenant, id);
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const stopping = new AbortController();
  const consumer = deps.kafka.consumer({
    groupId,
    maxBytesPerPartition: config.kafka.maxMessageBytes * 2,
    // Once stopping, the change in hand is abandoned uncommitted; restarting would only pick it up again.
    retry: { retries: 8, initialRetryTime: 300, restartOnFailure: () => Promise.resolve(!stopping.signal.aborted) },
  });
  let sink: Sink | undefined;
  let failing = false;
  let crashed = false;
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart || stopping.signal.aborted) return;
    crashed = true;
    log.error('subscription consumer crashed; restarting it at the next poll', {
      tenant,
      subscription: id,
      error: payload.error.message,
    });
  });

  /** A change that cannot be decoded (an outbound event), or that the sink refused for what it is (`bySink`). */
  async function reject(origin: MessageOrigin, message: KafkaMessage, reason: string, bySink = false): Promise<void> {
    const headers = { ...message.headers, 'dlq-subscription': id };
    const archiveKey = await deadLetter(deps.s3, config.s3.bucket, deps.producer, {
      ...origin,
      ...message,
      headers,
      tenant,
      reason,
      ...(bySink && { kind: 'sink', code: 'sink_refused' }),
    });
    metrics.subscriberEvents.inc({ sink: spec.sink.type, outcome: 'dead_lettered' });
    log.warn('subscription change dead-lettered', { tenant, subscription: id, ...origin, reason, archiveKey });
  }

  async function handle(origin: MessageOrigin, message: KafkaMessage): Promise<void> {
    const decoded = decodeAnnotationChanged(tenant, message, config.kafka.maxMessageBytes);
    if (!decoded.ok) return reject(origin, message, decoded.reason);
    const { event } = decoded;
    if (!matches(spec.filter, event)) return;
    const delivery = await sink!.deliver(event, reshape(spec.reshape, event));
    if (delivery.outcome === 'skipped') return reject(origin, message, delivery.reason, true);
    if (delivery.outcome === 'delivered') {
      metrics.subscriberEvents.inc({ sink: spec.sink.type, outcome: 'delivered' });
      await recordDelivered(postgres, tenant, id);
    }
  }

  /** Sleeps, heartbeating; a rebalance (the heartbeat throws) gives the partition up with the change uncommitted. */
  async function backOff(ms: number, heartbeat: () => Promise<void>): Promise<void> {
    for (let left = ms; left > 0 && !stopping.signal.aborted; left -= HEARTBEAT_MS) {
      await sleep(Math.min(left, HEARTBEAT_MS), undefined, { signal: stopping.signal }).catch(() => undefined);
      if (!stopping.signal.aborted) await heartbeat();
    }
  }

  async function eachMessage(payload: EachMessagePayload): Promise<void> {
    const { topic, partition, message } = payload;
    const origin = { topic, partition, offset: message.offset };
    for (let attempt = 1; ; attempt++) {
      // A KafkaJS error, so kafkajs leaves the change uncommitted without logging a failure.
      if (stopping.signal.aborted)
        throw new kafkajs.KafkaJSNonRetriableError(
          `subscription ${tenant}/${id} stopping; offset ${message.offset} stays uncommitted`,
        );
      try {
        await handle(origin, message);
        if (failing) {
          await recordRecovered(postgres, tenant, id);
          failing = false;
          log.info('subscription delivering again', { tenant, subscription: id, ...origin, attempts: attempt });
        }
        return;
      } catch (error) {
        if (stopping.signal.aborted) throw error;
        failing = true;
        metrics.subscriberEvents.inc({ sink: spec.sink.type, outcome: 'retried' });
        const reason = describeError(error);
        const waitMs = Math.min(maxBackoffMs, FIRST_BACKOFF_MS * 2 ** Math.min(attempt - 1, 16));
        log.warn('subscription delivery failed; retrying the same change', {
          tenant,
          subscription: id,
          ...origin,
          attempt,
          retryInMs: waitMs,
          error: reason,
        });
        // PostgreSQL may be what is down: the status is best effort, the retry is not.
        await recordFailure(postgres, tenant, id, reason).catch(() => undefined);
        await backOff(waitMs, () => payload.heartbeat());
      }
    }
  }

  return {
    groupId,
    topic,
    get crashed() {
      return crashed;
    },
    async start() {
      sink = await createSink(spec.sink, { tenant, subscriptionId: id }, deps);
      // Onboarding makes the outbound topic; a tenant older than that gets it with its first change, and a
      // subscription may come first. The subscribers may create it, never write it.
      await ensureTopic(deps.kafka, topic, config.kafka.tenantPartitions);
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage });
    },
    async stop() {
      stopping.abort();
      await consumer.disconnect();
      await sink?.close();
    },
  };
}

/**
 * Keeps one consumer per subscription in PostgreSQL: polls for new ones, restarts a changed one with its new spec
 * (the same group, so it goes on from its offsets), stops a removed one. A subscription that cannot start (its
 * spec is invalid, its connection missing) has the reason on its row and is tried again at the next poll.
 */
export function createSubscribers(deps: SubscriberDependencies, options: SubscriberOptions = {}) {
  const pollMs = options.pollMs ?? 5_000;
  const running = new Map<string, { updatedAt: number; consumer?: SubscriptionConsumer }>();
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> = Promise.resolve();
  let stopped = false;
  // One admin client for the lag of every subscription this process runs.
  const admin = deps.kafka.admin();
  let lag: ReturnType<typeof startLagReporter> | undefined;
  const consumed = () =>
    [...running.values()].flatMap(({ consumer }) =>
      consumer ? [{ groupId: consumer.groupId, topics: [consumer.topic] }] : [],
    );

  async function startOne(row: SubscriptionRow, key: string): Promise<void> {
    const updatedAt = row.updatedAt.getTime();
    const parsed = Subscription.safeParse(row.spec);
    if (!parsed.success) {
      const reason = `invalid subscription spec: ${z.prettifyError(parsed.error)}`;
      running.set(key, { updatedAt }); // not tried again until the spec changes
      log.warn('subscription not started', { tenant: row.tenant, subscription: row.id, reason });
      await recordFailure(deps.postgres, row.tenant, row.id, reason);
      return;
    }
    const consumer = createSubscriptionConsumer(deps, { tenant: row.tenant, id: row.id, spec: parsed.data }, options);
    try {
      await consumer.start();
      running.set(key, { updatedAt, consumer });
      log.info('subscription consuming', { tenant: row.tenant, subscription: row.id, groupId: consumer.groupId });
    } catch (error) {
      await consumer.stop().catch(() => undefined);
      const reason = `subscription could not start: ${describeError(error)}`;
      log.warn('subscription not started; trying again at the next poll', {
        tenant: row.tenant,
        subscription: row.id,
        reason,
      });
      await recordFailure(deps.postgres, row.tenant, row.id, reason);
    }
  }

  async function poll(): Promise<void> {
    const rows = await loadSubscriptions(deps.postgres, options.tenants);
    const seen = new Set<string>();
    for (const row of rows) {
      const key = `${row.tenant}/${row.id}`;
      seen.add(key);
      const current = running.get(key);
      if (current?.updatedAt === row.updatedAt.getTime() && !current.consumer?.crashed) continue;
      if (current) {
        await current.consumer?.stop();
        running.delete(key);
      }
      await startOne(row, key);
    }
    for (const [key, { consumer }] of running) {
      if (seen.has(key)) continue;
      await consumer?.stop();
      running.delete(key);
      log.info('subscription removed; consumer stopped', { subscription: key });
    }
  }

  function schedule(): void {
    timer = setTimeout(() => {
      polling = poll()
        .catch((error: Error) => log.warn('could not poll subscriptions', { error: error.message }))
        .finally(() => {
          if (!stopped) schedule();
        });
    }, pollMs);
  }

  return {
    /** The subscriptions consuming now, as tenant/id. */
    running: (): string[] => [...running].filter(([, entry]) => entry.consumer).map(([key]) => key),
    async start(): Promise<void> {
      await poll();
      schedule();
      await admin.connect();
      lag = startLagReporter(admin, consumed, deps.config.kafka.lagIntervalMs);
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await lag?.stop();
      await admin.disconnect();
      await polling;
      await Promise.all([...running.values()].map(({ consumer }) => consumer?.stop() ?? Promise.resolve()));
      running.clear();
    },
  };
}
