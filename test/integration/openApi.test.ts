import { Validator } from '@seriousme/openapi-schema-validator';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { startTestApi, type TestApi } from '../support/api.js';
import { uniqueTenant } from '../support/harness.js';

const Operation = z.object({
  summary: z.string().min(1),
  tags: z.array(z.string()).min(1),
  description: z.string().optional(),
  security: z.array(z.record(z.string(), z.array(z.string()))).optional(),
  responses: z.record(z.string(), z.unknown()),
});
const Document = z.object({
  openapi: z.string(),
  info: z.object({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.record(z.string(), Operation)),
  components: z.object({ securitySchemes: z.record(z.string(), z.unknown()) }),
});

describe('the OpenAPI document, generated from the zod schemas the routes validate with', () => {
  let api: TestApi;
  let raw: unknown;

  before(async () => {
    api = await startTestApi();
    const response = await api.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(response.statusCode, 200);
    raw = response.json();
  });

  after(async () => {
    await api?.close();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(raw as Parameters<Validator['validate']>[0]);
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
    assert.equal(Document.parse(raw).openapi, '3.1.0');
  });

  it('says for every route who may call it, and documents its answers', () => {
    const document = Document.parse(raw);
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path}`, operation })),
    );
    assert.ok(operations.length >= 25, `${operations.length} operations documented`);
    for (const { route, operation } of operations) {
      const success = Object.keys(operation.responses).filter((status) => /^2\d\d$/.test(status));
      assert.ok(success.length >= 1, `${route} documents its success answer`);
      assert.ok('400' in operation.responses, `${route} documents 400`);
      if (route.endsWith('/webhooks/monte-carlo')) {
        assert.equal(operation.security, undefined, 'the webhook is signed, not keyed');
        continue;
      }
      assert.deepEqual(operation.security, [{ apiKey: [] }], `${route} takes an API key`);
      assert.match(
        operation.description ?? '',
        /^Requires (scope `(read|ingest|annotate|admin)`|an admin key of the operator tenant)\./,
      );
      for (const status of ['401', '403']) assert.ok(status in operation.responses, `${route} documents ${status}`);
    }
  });

  it('documents what it validates: a request the schema refuses is answered 400 naming the field', async () => {
    const document = Document.parse(raw);
    const body = document.paths['/v1/tenants/{tenant}/api-keys']?.['post'];
    assert.ok(body, 'POST api-keys is documented');
    const tenant = uniqueTenant('openapi');
    await api.deps.postgres.query('INSERT INTO tenants (tenant, display_name) VALUES ($1, $1)', [tenant]);
    try {
      const key = await api.keyOf(tenant, ['admin']);
      const response = await api.call(key, 'POST', `/v1/tenants/${tenant}/api-keys`, { name: 'x', scopes: ['root'] });
      assert.equal(response.statusCode, 400);
      assert.match(response.json<{ error: string }>().error, /^invalid body: scopes\.0: /);
    } finally {
      await api.deps.postgres.query('DELETE FROM tenants WHERE tenant = $1', [tenant]);
    }
  });

  it('serves a browsable copy at /docs', async () => {
    const page = await api.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
  });
});
