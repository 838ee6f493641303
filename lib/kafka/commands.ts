import { z } from 'zod';
import { SkeletonRequested } from '../ingest/contracts.js';
import { AnnotationRequested } from '../propagation/contracts.js';
import { decodeEvent, keyedBy, type Decoded } from './decodeEvent.js';

/** Commands accepted on the commands topic, by type. */
export const Command = z.discriminatedUnion('type', [SkeletonRequested, AnnotationRequested]);
export type Command = z.infer<typeof Command>;

/** A command from `topicTenant`'s commands topic; keyed by its tenant. */
export const decodeCommand = (
  key: Buffer | null,
  value: Buffer | null,
  maxBytes: number,
  topicTenant: string,
): Decoded<Command> =>
  decodeEvent(
    Command,
    keyedBy((command) => command.tenant),
    { key, value },
    maxBytes,
    topicTenant,
  );
