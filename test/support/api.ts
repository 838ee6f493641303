import type { LightMyRequestResponse } from 'fastify';
import type { Api, ApiDependencies } from '../../api/dependencies.js';
import { buildApi } from '../../api/server.js';
import {
  connectTemporal,
  createCassandra,
  createKafka,
  createPostgres,
  createProducer,
  createS3,
} from '../../lib/platform/clients.js';
import type { Config } from '../../lib/platform/config.js';
import { createApiKey, type ApiKeyScope } from '../../lib/stores/apiKeys.js';
import { incidentStore } from '../../lib/stores/incidents.js';
import { saveTenant } from '../../lib/stores/tenants.js';
import { testConfig } from './harness.js';
import { asService } from './kafka.js';

/** The HTTP API on real clients of the local stack, for tests that call it through app.inject or a real port. */
export interface TestApi {
  app: Api;
  deps: ApiDependencies;
  /** A new key of `tenant` with these scopes (the tenant must exist). */
  keyOf(tenant: string, scopes: ApiKeyScope[], serviceAccount?: string): Promise<string>;
  /** A request as a client makes it: JSON in and out, the key as a bearer token. */
  call(
    key: string | undefined,
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
  ): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function startTestApi(config: Config = testConfig(), tenants: string[] = []): Promise<TestApi> {
  const postgres = createPostgres(config.postgres);
  const cassandra = createCassandra(config.cassandra);
  await cassandra.connect();
  // The API is its own Kafka principal, as in production: what it may write is what metasync-api's ACLs allow.
  const producer = createProducer(createKafka(asService(config, 'api').kafka, 'test-api'));
  await producer.connect();
  const temporal = await connectTemporal(config.temporal);
  const s3 = createS3(config.s3);
  const deps: ApiDependencies = {
    config,
    postgres,
    producer,
    s3,
    cassandra,
    temporal,
    incidents: incidentStore(cassandra),
  };
  for (const tenant of tenants) await saveTenant(postgres, tenant);
  const app = await buildApi(deps);
  await app.ready();
  return {
    app,
    deps,
    keyOf: async (tenant, scopes, serviceAccount) =>
      (await createApiKey(postgres, { tenant, name: `test ${scopes.join('+')}`, scopes, serviceAccount })).key,
    call: (key, method, url, body) =>
      app.inject({
        method,
        url,
        headers: {
          ...(key !== undefined && { authorization: `Bearer ${key}` }),
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
      }),
    async close() {
      await app.close();
      await producer.disconnect();
      await temporal.connection.close();
      await cassandra.shutdown();
      await postgres.end();
      s3.destroy();
    },
  };
}
