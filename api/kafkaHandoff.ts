import type { FastifyReply } from 'fastify';
import type { Producer, ProducerRecord } from 'kafkajs';
import { log } from '../lib/log.js';
import { sendError } from './errors.js';

/** Past this, the caller is answered 503 and retries, rather than held open while Kafka is away. */
const PRODUCE_DEADLINE_MS = 10_000;
export const RETRY_AFTER_SECONDS = '30';

/** Answers 503 with a retry hint: nothing was accepted, the caller should send it again later. */
export function refuseForNow(reply: FastifyReply, error: string): FastifyReply {
  reply.header('retry-after', RETRY_AFTER_SECONDS);
  return sendError(reply, 503, error);
}

/**
 * Hands a request's message to Kafka (acks from every in-sync replica) within the deadline. On failure it answers
 * 503 and returns false: nothing was acknowledged, so nothing was accepted. A produce that lands late repeats an
 * event id the consumers ignore when the caller sends it again.
 */
export async function handToKafka(
  reply: FastifyReply,
  producer: Producer,
  record: Omit<ProducerRecord, 'acks'>,
  what: string,
  logFields: Record<string, unknown>,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no acknowledgement within ${PRODUCE_DEADLINE_MS} ms`)),
      PRODUCE_DEADLINE_MS,
    );
  });
  try {
    await Promise.race([producer.send({ ...record, acks: -1 }), deadline]);
    return true;
  } catch (error) {
    const message = (error as Error).message;
    log.error(`${what} not produced`, { ...logFields, error: message });
    refuseForNow(
      reply,
      `the ${what} could not be handed to Kafka (${message}): nothing was accepted, send it again later`,
    );
    return false;
  } finally {
    clearTimeout(timer);
  }
}
