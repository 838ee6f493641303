import { z } from 'zod';
import { TenantId } from '../lib/platform/ids.js';

/**
 * The pieces every route's zod schema is built from. Fastify validates requests with them and
 * @fastify/swagger turns them into the OpenAPI document (api/openapi.ts), so what is documented is what is checked.
 */

export const ErrorBody = z.object({ error: z.string().describe('What was wrong, and what to do about it') });
export type ErrorBody = z.infer<typeof ErrorBody>;

const ERROR_DESCRIPTIONS = {
  400: 'The request is invalid: the error names each bad field',
  401: 'No API key, or one that is unknown, revoked or expired',
  403: "The key is not the tenant's, or lacks the scope",
  404: 'No such resource in this tenant',
  409: 'The resource exists already, or is in a state that does not allow this',
  413: 'The body is over the size limit',
  415: 'The body is not application/json',
  429: 'Too many requests from this address or for this tenant: retry after the retry-after header',
  502: 'A system the request reaches (a source, a downstream) refused or failed',
  503: 'A system MetaSync depends on is away or did not confirm in time: the request may still have been applied; sending it again after the retry-after header is safe',
} as const;

/** The error answers a route documents, besides the 400/401/403/429 every route may give. */
export function errorResponses(...statuses: (keyof typeof ERROR_DESCRIPTIONS)[]) {
  const all = [...new Set([400, 401, 403, 429, ...statuses] as const)];
  return Object.fromEntries(all.map((status) => [status, ErrorBody.describe(ERROR_DESCRIPTIONS[status])]));
}

export const TenantParams = z.object({ tenant: TenantId.describe('The tenant: it must be the API key’s own') });

/** `<sourceType>://<connection>/<path>` (lib/mapping/qualifiedName.ts); checked so a bare table name gets a hint. */
export const QualifiedNameParam = z
  .string()
  .max(16_384)
  .regex(
    /^[a-z][a-z0-9+.-]*:\/\/[^/]+\/.+$/,
    'expected a qualified name such as postgres://warehouse/sales/public/orders',
  )
  .describe('A qualified name, <sourceType>://<connection>/<path>');

export const pageLimit = (fallback: number, most: number) =>
  z.coerce.number().int().min(1).max(most).default(fallback).describe(`Items per page (1-${most})`);

/** Every paged answer ends the same way: a token for the next page, or null on the last. */
export const NextPageToken = z.string().nullable().describe('Pass it as pageToken for the next page; null on the last');

/** Identifiers a tenant chooses (connections, service accounts, runs): safe in URLs, workflow ids and S3 keys. */
export const Slug = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,62}$/,
    'expected 1-63 lowercase letters, digits, - or _, starting with a letter or digit',
  );
