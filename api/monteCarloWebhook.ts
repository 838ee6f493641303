import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { TenantId } from '../lib/contracts.js';
import { deadLetter } from '../lib/deadLetters.js';
import { log } from '../lib/log.js';
import {
  decodeMonteCarloWebhook,
  MONTE_CARLO_SIGNATURE_HEADER,
  monteCarloSignedText,
  toIncidentEvent,
  verifyMonteCarloSignature,
} from '../lib/monteCarlo/index.js';
import { loadMonteCarloSecret } from '../lib/stores/monteCarlo.js';
import { tenantExists } from '../lib/stores/tenants.js';
import { inboundTopic, incidentMessage } from '../lib/topics.js';
import { sendError } from './errors.js';
import { handToKafka, refuseForNow } from './kafkaHandoff.js';
import { documentedOnly } from './openapi.js';
import { errorResponses } from './schemas.js';
import type { ApiDependencies } from './server.js';

/**
 * The dead-letter "source topic" of webhooks that were signed but break the contract. It is not a Kafka topic:
 * it names where the bytes came from in the DLQ headers and in the archive key, so it keeps to characters that
 * are safe in an S3 key (no ':').
 */
export const MONTE_CARLO_WEBHOOK_SOURCE = 'http.monte-carlo';

const Params = z.object({ tenant: TenantId });
// Node joins a repeated header into one string, which is then no signature; anything but a string is none either.
const SignatureHeader = z.string().optional();

export function registerMonteCarloWebhook(app: FastifyInstance, deps: ApiDependencies): void {
  const { config, postgres, producer, s3 } = deps;

  /** The tenant's webhook secret, or undefined when the tenant is unknown or has not connected Monte Carlo. */
  async function secretOf(tenant: string): Promise<string | undefined> {
    const [exists, secret] = await Promise.all([
      tenantExists(postgres, tenant),
      loadMonteCarloSecret(postgres, config.secretsKey, tenant),
    ]);
    return exists ? secret : undefined;
  }

  const schema = {
    tags: ['incidents'],
    summary: "Monte Carlo's incident webhook",
    description: `Signed with the tenant's webhook secret in the ${MONTE_CARLO_SIGNATURE_HEADER} header, not an API key. A signed body that breaks the contract is answered 400 and kept as a dead letter.`,
    params: Params,
    response: {
      202: z.object({ eventId: z.string(), type: z.string() }),
      ...errorResponses(404, 413, 415, 503),
    },
  };

  app.post(
    '/v1/tenants/:tenant/webhooks/monte-carlo',
    { config: { scope: 'signed' }, schema, validatorCompiler: documentedOnly },
    async (request, reply) => {
      const receivedAt = new Date();
      const params = Params.safeParse(request.params);
      const secret = params.success ? await secretOf(params.data.tenant) : undefined;
      if (!params.success || secret === undefined) {
        // One answer for "no such tenant" and "no secret", so an unauthenticated caller can't probe for tenants.
        return sendError(
          reply,
          404,
          'no Monte Carlo webhook at this URL: check the tenant in it, or connect the tenant with `npm run monte-carlo:connect`',
        );
      }
      const { tenant } = params.data;
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const where = { tenant, requestId: request.id, bytes: body.length };

      const header = SignatureHeader.safeParse(request.headers[MONTE_CARLO_SIGNATURE_HEADER]);
      if (!verifyMonteCarloSignature(body, header.success ? header.data : undefined, secret)) {
        // Unauthenticated bytes are not kept anywhere: anyone could send them.
        const notJson = whyNotJsonObject(body);
        log.warn('monte carlo webhook refused', { ...where, reason: notJson ?? 'signature missing or wrong' });
        if (notJson !== undefined) {
          return sendError(
            reply,
            400,
            `the body is not a JSON object (${notJson}): send Monte Carlo's webhook as JSON`,
          );
        }
        return sendError(
          reply,
          401,
          `the ${MONTE_CARLO_SIGNATURE_HEADER} header is missing or is not the signature of this body: check that the secret configured in Monte Carlo is this tenant's webhook secret`,
        );
      }

      const decoded = decodeMonteCarloWebhook(body, config.kafka.maxMessageBytes);
      if (!decoded.ok) {
        let archiveKey: string;
        try {
          archiveKey = await deadLetter(s3, config.s3.bucket, producer, {
            topic: MONTE_CARLO_WEBHOOK_SOURCE,
            // deadLetterKey files the bytes under <topic>/<partition>/<offset>-<digest>: an HTTP request has no
            // partition (-1), and the receive time in epoch ms is digits like a real offset, so archives list in
            // the order they came. The content digest keeps two webhooks of the same millisecond apart.
            partition: -1,
            offset: String(receivedAt.getTime()),
            key: Buffer.from(tenant),
            value: body,
            headers: { 'http-request-id': request.id },
            // The signature proves the tenant's secret signed it, so the bytes are kept under the tenant.
            tenant,
            reason: decoded.reason,
          });
        } catch (error) {
          log.error('monte carlo webhook could not be dead-lettered', { ...where, error: (error as Error).message });
          return refuseForNow(reply, `${decoded.reason}; it could not be archived either, so send it again later`);
        }
        log.warn('monte carlo webhook dead-lettered', { ...where, reason: decoded.reason, archiveKey });
        return sendError(
          reply,
          400,
          `${decoded.reason} (kept for inspection as request ${request.id}; sending the same body again will not help)`,
        );
      }

      const event = toIncidentEvent(decoded.webhook, tenant, receivedAt);
      const record = { topic: inboundTopic(tenant, 'incidents'), messages: [incidentMessage(event)] };
      if (!(await handToKafka(reply, producer, record, 'incident', { ...where, eventId: event.id }))) return reply;
      return reply.code(202).send({ eventId: event.id, type: event.type });
    },
  );
}

/** Why the body is not something Monte Carlo could have signed (a JSON object), or undefined when it is one. */
function whyNotJsonObject(body: Buffer): string | undefined {
  if (body.length === 0) return 'it is empty';
  try {
    monteCarloSignedText(body);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
