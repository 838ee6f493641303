import { z } from 'zod';
import { IngestInput } from '../ingest/contracts.js';
import {
  AnnotationAttribute,
  AnnotationChangedPayload,
  AnnotationValue,
  ClassificationLabel,
} from '../propagation/contracts.js';

// ---------------------------------------------------------------------------------------------------------------
// Subscriptions (issue 5): what an outside tool receives from a tenant's outbound topic, kept as data in PostgreSQL
// (`subscriptions`). Each one filters the annotation changes, reshapes them and hands them to a sink
// (lib/subscriptions/). workers/subscribers.ts runs them.
// ---------------------------------------------------------------------------------------------------------------

/** Subscription ids go into Kafka consumer group ids. */
export const SubscriptionId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a subscription id is 1-63 lowercase letters, digits, - or _');

/** Each list left out lets everything through; each list given keeps only the changes it names. */
export const SubscriptionFilter = z.strictObject({
  attributes: z.array(AnnotationAttribute).min(1).optional(),
  /** Exact values, e.g. ['PII', 'GDPR']. */
  values: z.array(AnnotationValue).min(1).optional(),
  /** An asset whose type is not known yet (assetType null) matches no list. */
  assetTypes: z.array(z.string().min(1).max(64)).min(1).optional(),
  changes: z.array(AnnotationChangedPayload.shape.change).min(1).optional(),
});
export type SubscriptionFilter = z.infer<typeof SubscriptionFilter>;

const UNSAFE_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);
/** A dotted path into the event, e.g. `payload.attribution.source`. */
export const FieldPath = z
  .string()
  .max(256)
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/, 'a field path is dotted names, e.g. payload.value')
  .refine((path) => !path.split('.').some((segment) => UNSAFE_SEGMENTS.has(segment)), {
    message: 'a field path never goes through __proto__, constructor or prototype',
  });

/** Applied in this order: pick (or keep the whole event), then rename, then add. */
export const SubscriptionReshape = z.strictObject({
  /** The fields kept, at the same paths; without it the whole event is kept. */
  pick: z.array(FieldPath).min(1).optional(),
  /** From path to path, e.g. {"payload.qualifiedName": "asset"}. */
  rename: z.record(FieldPath, FieldPath).optional(),
  /** Constant fields, e.g. {"producer": "metasync"}. */
  add: z.record(FieldPath, z.json()).optional(),
});
export type SubscriptionReshape = z.infer<typeof SubscriptionReshape>;

/**
 * A Kafka sink writes `metasync.sink.<tenant>.<name>`: a topic only its tenant's principal may read, and the only
 * kind the subscribers may write (lib/kafka/access.ts). Which tenant's prefix a spec may use is checked where the
 * tenant is known (sinkTopicProblem).
 */
export const KafkaSinkSpec = z.strictObject({
  type: z.literal('kafka'),
  topic: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic is 1-249 letters, digits, . _ or -')
    .regex(
      /^metasync\.sink\.[a-z][a-z0-9-]{1,62}\.[A-Za-z0-9._-]+$/,
      'a sink topic is metasync.sink.<tenant>.<name>: only there may the subscribers write, and only the tenant read',
    ),
});

/** Why a subscription of `tenant` may not use this sink (another tenant's sink topic), or undefined. */
export function sinkTopicProblem(tenant: string, sink: SinkSpec): string | undefined {
  if (sink.type !== 'kafka' || sink.topic.startsWith(`metasync.sink.${tenant}.`)) return undefined;
  return `sink.topic ${JSON.stringify(sink.topic)} is not tenant ${tenant}'s: a sink topic is metasync.sink.${tenant}.<name>`;
}

/** Restricted roles lose SELECT on what carries one of `classifications` in the connection's database. */
export const PostgresEnforcementSinkSpec = z.strictObject({
  type: z.literal('postgres-enforcement'),
  connectionId: IngestInput.shape.connectionId,
  restrictedRoles: z.array(z.string().min(1).max(63)).min(1),
  classifications: z.array(ClassificationLabel).min(1).default(['PII', 'GDPR']),
});

export const SinkSpec = z.discriminatedUnion('type', [KafkaSinkSpec, PostgresEnforcementSinkSpec]);
export type SinkSpec = z.infer<typeof SinkSpec>;

export const Subscription = z
  .strictObject({
    description: z.string().max(1000).optional(),
    filter: SubscriptionFilter.default({}),
    reshape: SubscriptionReshape.default({}),
    sink: SinkSpec,
  })
  .refine((spec) => spec.sink.type === 'kafka' || Object.keys(spec.reshape).length === 0, {
    path: ['reshape'],
    message: 'the postgres-enforcement sink acts on the change itself: reshape is for the kafka sink',
  });
export type Subscription = z.infer<typeof Subscription>;
export type SubscriptionInput = z.input<typeof Subscription>;
