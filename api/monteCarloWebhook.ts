import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { TenantId } from '../lib/platform/ids.js';
import { printable } from '../lib/platform/jsonInput.js';
import { log } from '../lib/platform/log.js';
import {
  decodeMonteCarloWebhook,
  MONTE_CARLO_SIGNATURE_HEADER,
  monteCarloSignedText,
  toIncidentEvent,
  verifyMonteCarloSignature,
} from '../lib/incidents/monteCarlo/index.js';
import { loadMonteCarloSecret } from '../lib/stores/monteCarlo.js';
import { tenantExists } from '../lib/stores/tenants.js';
import { inboundTopic, incidentMessage } from '../lib/kafka/topics.js';
import { sendError } from './errors.js';
import { handToKafka } from './kafkaHandoff.js';
import type { ApiLimits } from './limits.js';
import { documentedOnly } from './openapi.js';
import { answerRejectedBody } from './rejectedBodies.js';
import { errorResponses } from './schemas.js';
import type { ApiDependencies } from './dependencies.js';

/**
 * The dead-letter "source topic" of webhooks that were signed but break the contract. It is not a Kafka topic:
 * it names where the bytes came from in the DLQ headers and in the archive key, so it keeps to characters that
 * are safe in an S3 key (no ':').
 */
export const MONTE_CARLO_WEBHOOK_SOURCE = 'http.monte-carlo';

const Params = z.object({ tenant: TenantId });
// Node joins a repeated header into one string, which is then no signature; anything but a string is none either.
const SignatureHeader = z.string().optional();

/**
 * The secret a signature is checked against when the URL's tenant is unknown or has not connected Monte Carlo, so
 * such a request costs what a wrong signature for a connected tenant costs and is answered the same: neither the
 * answer nor its time tells a stranger which tenants exist or use Monte Carlo. (A tenant id that is not even well
 * formed is answered without the look-ups: its format is public.)
 */
const NO_SECRET = randomBytes(32).toString('hex');

export function registerMonteCarloWebhook(app: FastifyInstance, deps: ApiDependencies, limits: ApiLimits): void {
  const { config, postgres, producer } = deps;

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
    description: `Signed with the tenant's webhook secret in the ${MONTE_CARLO_SIGNATURE_HEADER} header, not an API key. An unknown tenant, one without Monte Carlo and a wrong signature are answered alike (401). A signed body that breaks the contract is answered 400 and kept as a dead letter.`,
    params: Params,
    response: {
      202: z.object({ eventId: z.string(), type: z.string() }),
      ...errorResponses(413, 415, 503),
    },
  };

  app.post(
    '/v1/tenants/:tenant/webhooks/monte-carlo',
    { config: { scope: 'signed' }, schema, validatorCompiler: documentedOnly },
    async (request, reply) => {
      const receivedAt = new Date();
      const params = Params.safeParse(request.params);
      const secret = params.success ? await secretOf(params.data.tenant) : undefined;
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const where = { tenant: params.data?.tenant, requestId: request.id, bytes: body.length };

      const header = SignatureHeader.safeParse(request.headers[MONTE_CARLO_SIGNATURE_HEADER]);
      const signature = header.success ? header.data : undefined;
      // Checked with a throwaway secret when there is none, so every refusal below takes the same path and time.
      if (!verifyMonteCarloSignature(body, signature, secret ?? NO_SECRET) || !params.success || secret === undefined) {
        // Unauthenticated bytes are not kept anywhere: anyone could send them.
        const notJson = whyNotJsonObject(body);
        log.warn('monte carlo webhook refused', {
          ...where,
          reason: notJson ?? 'unknown tenant, no secret, or signature missing or wrong',
        });
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
          `the ${MONTE_CARLO_SIGNATURE_HEADER} header is missing or is not the signature of this body with this URL's webhook secret: check the tenant in the URL, and that the secret configured in Monte Carlo is the one \`npm run monte-carlo:connect\` printed for it`,
        );
      }
      const { tenant } = params.data;
      if (!(await limits.webhookPerTenant(request, reply, tenant))) return reply;

      const decoded = decodeMonteCarloWebhook(body, config.kafka.maxMessageBytes);
      if (!decoded.ok) {
        // The signature proves the tenant's secret signed it, so the bytes are kept under the tenant.
        const rejected = { source: MONTE_CARLO_WEBHOOK_SOURCE, tenant, body, reason: decoded.reason, receivedAt };
        return answerRejectedBody(reply, request, deps, rejected);
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
    return printable((error as Error).message);
  }
}
