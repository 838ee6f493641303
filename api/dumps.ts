import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { z } from 'zod';
import { createS3 } from '../lib/platform/clients.js';
import { isSafeDumpName } from '../lib/extractors/ndjson/dumpAccess.js';
import { log } from '../lib/platform/log.js';
import { dumpsPrefix } from '../lib/platform/objectKeys.js';
import { errorResponses, TenantParams } from './schemas.js';
import type { Api, ApiDependencies } from './dependencies.js';

/** An upload URL is good for this long: enough to start a large upload, short enough not to be kept around. */
const UPLOAD_URL_SECONDS = 15 * 60;

const UploadRequest = z.strictObject({
  name: z
    .string()
    .max(512)
    .refine(isSafeDumpName, "expected a name of letters, digits and !-_.*'() between slashes, such as estate.ndjson.gz")
    .describe('The dump’s name under your dumps prefix; .gz at the end for a gzipped dump'),
});

const Upload = z.object({
  uri: z.string().describe('What to give an ndjson connection as its uri once the upload is done'),
  uploadUrl: z.string().describe('PUT the dump’s bytes there (curl -T estate.ndjson.gz "<uploadUrl>")'),
  method: z.literal('PUT'),
  expiresAt: z.iso.datetime().describe('The URL works until then'),
});

/**
 * The way a tenant puts an estate dump where its NDJSON connections may read it: a presigned S3 PUT URL for one
 * object under its own dumps prefix (lib/extractors/ndjson/dumpAccess.ts), so the tenant never holds credentials of MetaSync's
 * bucket and can write nowhere else in it.
 */
export function registerDumpRoutes(app: Api, deps: ApiDependencies): void {
  const { s3 } = deps.config;
  // Signed for the endpoint tenants reach the bucket at, which may not be the one MetaSync uses inside.
  const signer = createS3({ ...s3, endpoint: s3.publicEndpoint ?? s3.endpoint });

  app.post(
    '/v1/tenants/:tenant/dumps/uploads',
    {
      config: { scope: 'ingest' },
      schema: {
        tags: ['connections'],
        summary: 'An upload URL for an estate dump under your dumps prefix',
        description:
          `PUT the dump to uploadUrl within ${UPLOAD_URL_SECONDS / 60} minutes, then name uri in an ndjson connection. ` +
          'An existing dump of the same name is replaced.',
        params: TenantParams,
        body: UploadRequest,
        response: { 201: Upload, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { tenant } = request.params;
      const key = `${dumpsPrefix(tenant)}${request.body.name}`;
      const uploadUrl = await getSignedUrl(signer, new PutObjectCommand({ Bucket: s3.bucket, Key: key }), {
        expiresIn: UPLOAD_URL_SECONDS,
      });
      log.info('dump upload url issued', { requestId: request.id, keyId: request.apiKey?.keyId, tenant, key });
      return reply.code(201).send({
        uri: `s3://${s3.bucket}/${key}`,
        uploadUrl,
        method: 'PUT' as const,
        expiresAt: new Date(Date.now() + UPLOAD_URL_SECONDS * 1000).toISOString(),
      });
    },
  );
}
