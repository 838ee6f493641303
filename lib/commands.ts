import { Command } from './contracts.js';
import { decodeEvent, type Decoded } from './decodeEvent.js';

/** A command from `topicTenant`'s commands topic; keyed by its tenant. */
export const decodeCommand = (
  key: Buffer | null,
  value: Buffer | null,
  maxBytes: number,
  topicTenant: string,
): Decoded<Command> => decodeEvent(Command, (command) => command.tenant, { key, value }, maxBytes, topicTenant);
