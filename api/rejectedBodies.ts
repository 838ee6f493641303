import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TenantId } from '../lib/platform/ids.js';
import { deadLetter } from '../lib/kafka/deadLetters.js';
import { log } from '../lib/platform/log.js';
import { metrics, reasonCode } from '../lib/platform/metrics.js';
import { releaseDeadLetterBytes, reserveDeadLetterBytes } from '../lib/stores/deadLetterQuota.js';
import { refuseForNow } from './kafkaHandoff.js';
import type { ApiDependencies } from './dependencies.js';

export interface RejectedBody {
  /** Where the bytes came from, as the dead letter names it (e.g. http.monte-carlo): not a Kafka topic. */
  source: string;
  /** The tenant the caller proved to be (a signature, an API key): the bytes are kept under it. */
  tenant: TenantId;
  body: Buffer;
  reason: string;
  receivedAt: Date;
}

/**
 * Answers a body that was refused for what it is with 400 and the reason, and keeps its bytes as a dead letter
 * (S3 and the dead-letter topic) within the tenant's daily quota. Past the quota the bytes are not kept, the refusal is
 * counted (dead_letter_quota) and answered all the same. When the bytes cannot be kept (S3 or Kafka away) the
 * answer is 503: nothing was kept, so the caller should send it again later.
 */
export async function answerRejectedBody(
  reply: FastifyReply,
  request: FastifyRequest,
  deps: Pick<ApiDependencies, 'config' | 'postgres' | 's3' | 'producer'>,
  rejected: RejectedBody,
  more: Record<string, unknown> = {},
): Promise<FastifyReply> {
  const { config, postgres } = deps;
  const { source, tenant, body, reason, receivedAt } = rejected;
  const where = { tenant, source, requestId: request.id, bytes: body.length };
  const quota = config.api.limits.deadLetterBytesPerDay;
  let kept: string;
  try {
    if (await reserveDeadLetterBytes(postgres, tenant, body.length, quota)) {
      const archiveKey = await deadLetter(deps.s3, config.s3.bucket, deps.producer, {
        topic: source,
        // deadLetterKey files the bytes under <source>/<partition>/<offset>-<digest>: an HTTP request has no partition
        // (-1), and the receive time in epoch ms is digits like a real offset, so archives list in the order they
        // came. The content digest keeps two bodies of the same millisecond apart.
        partition: -1,
        offset: String(receivedAt.getTime()),
        key: Buffer.from(tenant),
        value: body,
        headers: { 'http-request-id': request.id },
        tenant,
        reason,
      }).catch(async (error: unknown) => {
        await releaseDeadLetterBytes(postgres, tenant, body.length).catch(() => undefined);
        throw error;
      });
      log.warn('rejected body dead-lettered', { ...where, reason, archiveKey });
      kept = `kept for inspection as request ${request.id}`;
    } else {
      log.warn('rejected body not kept: over the tenant’s dead-letter quota', { ...where, reason, quota });
      metrics.rejectedBodiesUnkept.inc({ reason: reasonCode(reason) });
      kept = `not kept: tenant ${tenant} has used its ${quota} bytes of dead-letter archive for today`;
    }
  } catch (error) {
    log.error('rejected body could not be dead-lettered', { ...where, error: (error as Error).message });
    return refuseForNow(reply, `${reason}; it could not be archived either, so send it again later`);
  }
  return reply.code(400).send({ error: `${reason} (${kept}; sending the same body again will not help)`, ...more });
}
