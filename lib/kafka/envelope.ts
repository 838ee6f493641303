import { z } from 'zod';
import { TenantId } from '../platform/ids.js';

/** The versioned envelope carried by every MetaSync topic. */
export const EventEnvelope = z.object({
  id: z.string().min(1).max(200),
  type: z.string().regex(/^[a-z]+(\.[a-z-]+)+$/, 'expected a dotted type such as skeleton.requested'),
  version: z.number().int().positive(),
  tenant: TenantId,
  source: z.string().min(1).max(200),
  occurredAt: z.iso.datetime({ offset: true }),
  payload: z.unknown(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** Where a message was read from: what a dead letter points back at. */
export const MessageOrigin = z.object({
  topic: z.string(),
  partition: z.number().int().nonnegative(),
  offset: z.string(),
  /** The message's Kafka timestamp (epoch ms, as kafkajs gives it): when it was produced, for latency metrics. */
  timestamp: z
    .string()
    .regex(/^\d{1,16}$/)
    .optional(),
});
export type MessageOrigin = z.infer<typeof MessageOrigin>;
