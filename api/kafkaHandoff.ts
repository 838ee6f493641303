import type { FastifyReply } from 'fastify';
import type { Producer, ProducerRecord } from 'kafkajs';
import { log } from '../lib/platform/log.js';
import { sendError } from './errors.js';

/** Past this, the caller is answered 503 and retries, rather than held open while Kafka is away. */
const PRODUCE_DEADLINE_MS = 10_000;
export const RETRY_AFTER_SECONDS = '30';

/** Answers 503 with a retry hint: the caller should send the request again later (the message says what is known). */
export function refuseForNow(reply: FastifyReply, error: string): FastifyReply {
  reply.header('retry-after', RETRY_AFTER_SECONDS);
  return sendError(reply, 503, error);
}

/**
 * Hands a request's message to Kafka (acks from every in-sync replica) within the deadline. On failure it answers
 * 503 and returns false. No acknowledgement is not "nothing was accepted": the produce may still land after the
 * deadline (or have landed, its acknowledgement lost), so the answer says the request may have been taken. Sending
 * it again is safe because every route behind this is idempotent: an incident or OpenLineage event repeats its id,
 * which consumers ignore, and an annotation adds or removes a value an asset then already has or lacks.
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
      `Kafka did not confirm the ${what} (${message}): it may still have been accepted, and sending the same request again later is safe, as a repeated ${what} changes nothing`,
    );
    return false;
  } finally {
    clearTimeout(timer);
  }
}
