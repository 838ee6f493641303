import type { LightMyRequestResponse } from 'fastify';
import type { Api, ApiDependencies } from '../../api/dependencies.js';
import { buildApi } from '../../api/server.js';
import type { Config } from '../../lib/platform/config.js';
import { createApiKey, type ApiKeyScope } from '../../lib/stores/apiKeys.js';
import { incidentStore } from '../../lib/stores/incidents.js';
import { saveTenant } from '../../lib/stores/tenants.js';
import { testConfig } from './harness.js';
import { openStack, type Stack } from './stack.js';

/** The HTTP API on real clients of the local stack, for tests that call it through app.inject or a real port. */
export interface TestApi {
  app: Api;
  deps: ApiDependencies;
  /** The clients the API runs on, for what a suite runs beside it; closing the API closes it. */
  stack: Stack;
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

export interface TestApiOptions {
  /** Adds routes before the API is ready, as another module of the API would (they must declare their scope). */
  routes?: (app: Api) => void;
}

/**
 * The API on a stack (a suite's own, or one opened on `config`), with `tenants` in the control plane. Its `close()`
 * closes the stack, with everything the suite started on it.
 */
export async function startTestApi(
  on: Config | Stack = testConfig(),
  tenants: string[] = [],
  options: TestApiOptions = {},
): Promise<TestApi> {
  const stack = 'defer' in on ? on : openStack(on);
  const { config, postgres, cassandra, s3, temporal } = stack;
  await cassandra.connect();
  // The API is its own Kafka principal, as in production: what it may write is what metasync-api's ACLs allow.
  const producer = await stack.producer('api');
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
  stack.defer(() => app.close());
  options.routes?.(app);
  await app.ready();
  return {
    app,
    deps,
    stack,
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
    close: () => stack.close(),
  };
}
