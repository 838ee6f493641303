import type { KafkaMessage } from 'kafkajs';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import type { OpenLineageReceived } from '../../lib/lineage/contracts.js';
import type { AnnotationRequested } from '../../lib/propagation/contracts.js';
import { MONTE_CARLO_SIGNATURE_HEADER, signMonteCarloBody } from '../../lib/incidents/monteCarlo/index.js';
import { withKafkaAdmin } from '../../lib/kafka/provisioning.js';
import { saveMonteCarloSecret } from '../../lib/stores/monteCarlo.js';
import { inboundTopic, incidentKey, lineageKey, topics } from '../../lib/kafka/topics.js';
import { createCommandBridge } from '../../workers/commandBridge.js';
import { createIncidentBridge } from '../../workers/incidentBridge.js';
import { createLineageBridge } from '../../workers/lineageBridge.js';
import type { Bridge } from '../../workers/topicBridge.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { eventually, testConfig, testGroup, uniqueId, uniqueTenant, type Tail } from '../support/harness.js';
import { incidentEvent } from '../support/incidents.js';

/**
 * Hostile input never answers 500. Every route of the API's own OpenAPI document is called with a valid key and, in
 * turn, a NUL or an unpaired surrogate in each path parameter, query parameter and string of its documented body
 * (unknown keys and free-form facets included), and with JSON nested 100,000 levels deep: each must be a 400 naming
 * the field. A route added later is probed without anyone editing this suite. The inbound Kafka topics get the same
 * strings, and must dead-letter them with the reason and move on.
 */

const operatorTenant = uniqueTenant('hostile-op');
const config = testConfig({ METASYNC_OPERATOR_TENANT: operatorTenant });
const tenant = uniqueTenant('hostile');
const secret = 'hostile-input-webhook-secret-0000000000';

const openLineageEvent = JSON.parse(
  readFileSync(new URL('../fixtures/openlineage/spark-complete.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;
const monteCarloBody = JSON.parse(
  readFileSync(new URL('../fixtures/montecarlo/anomaly-incident.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

const HOSTILE = [
  { name: 'a NUL', text: 'a\u0000b', says: /contains a NUL character/ },
  { name: 'an unpaired surrogate', text: 'a\uD800b', says: /contains an unpaired UTF-16 surrogate/ },
];
/** In a URL, a NUL percent-encodes; no UTF-8 decodes to a surrogate, so its encoded bytes are malformed instead. */
const HOSTILE_IN_URL = [
  { name: 'a NUL', text: 'a%00b', says: /contains a NUL character/ },
  { name: 'an encoded surrogate', text: 'a%ED%A0%80b', says: /./ },
];

type Path = (string | number)[];
interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  minimum?: number;
}
const Operation = z.object({
  description: z.string().optional(),
  parameters: z.array(z.object({ in: z.string(), name: z.string() })).optional(),
  requestBody: z.object({ content: z.record(z.string(), z.object({ schema: z.custom<JsonSchema>() })) }).optional(),
});
const OpenApi = z.object({ paths: z.record(z.string(), z.record(z.string(), Operation)) });

const types = (schema: JsonSchema) => [schema.type ?? []].flat();

/** A value of the schema: not necessarily valid, but with every documented field present. */
function sample(schema: JsonSchema): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const branch = schema.oneOf?.[0] ?? schema.anyOf?.[0];
  if (branch) return sample(branch);
  const [type] = types(schema);
  if (type === 'object' || schema.properties) {
    return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, value]) => [key, sample(value)]));
  }
  if (type === 'array') return [sample(schema.items ?? {})];
  if (type === 'integer' || type === 'number') return schema.minimum ?? 1;
  if (type === 'boolean') return true;
  if (type === 'null') return null;
  return schema.format === 'uri' ? 'https://example.com/x' : 'x';
}

/** Every place a string can go: documented strings, free-form values, and a key into each open object. */
function stringPaths(schema: JsonSchema, path: Path = []): Path[] {
  const branches = [...(schema.oneOf ?? []), ...(schema.anyOf ?? [])];
  if (branches.length) return branches.flatMap((branch) => stringPaths(branch, path));
  if (schema.const !== undefined || schema.enum) return [path];
  const [type] = types(schema);
  if (type === 'object' || schema.properties) {
    const open = schema.additionalProperties;
    return [
      ...Object.entries(schema.properties ?? {}).flatMap(([key, value]) => stringPaths(value, [...path, key])),
      ...(open && typeof open === 'object' ? stringPaths(open, [...path, 'extra']) : []),
    ];
  }
  if (type === 'array') return stringPaths(schema.items ?? {}, [...path, 0]);
  if (type === 'integer' || type === 'number' || type === 'boolean' || type === 'null') return [];
  return [path]; // a string, or anything at all
}

/** Every string leaf of a document (for the webhook, whose body the document does not describe). */
function leavesOf(value: unknown, path: Path = []): Path[] {
  if (typeof value === 'string') return [path];
  if (Array.isArray(value)) return value.flatMap((item, index) => leavesOf(item, [...path, index]));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => leavesOf(item, [...path, key]));
  }
  return [];
}

function withValueAt(document: unknown, path: Path, value: unknown): unknown {
  const copy = structuredClone(document ?? {}) as Record<string | number, unknown>;
  let at: Record<string | number, unknown> = copy;
  path.forEach((segment, index) => {
    if (index === path.length - 1) {
      at[segment] = value;
      return;
    }
    const next = at[segment];
    if (next === null || typeof next !== 'object') at[segment] = typeof path[index + 1] === 'number' ? [] : {};
    at = at[segment] as Record<string | number, unknown>;
  });
  return copy;
}

/** How the API names a field: `a.b[0].c`. */
const pathText = (path: Path) =>
  path.map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : (index ? '.' : '') + segment)).join('');
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const deeplyNested = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

describe('hostile input: a 400 naming the field, never a 500', () => {
  let api: TestApi;
  let adminKey: string;
  let operatorKey: string;

  before(async () => {
    api = await startTestApi(config, [tenant, operatorTenant]);
    adminKey = await api.keyOf(tenant, ['admin']);
    operatorKey = await api.keyOf(operatorTenant, ['admin']);
    await saveMonteCarloSecret(api.deps.postgres, config.secretsKey, tenant, secret);
  });

  after(async () => {
    await api?.close();
  });

  it('answers every route of the OpenAPI document 400 for hostile strings and depth, naming the field', async () => {
    const document = OpenApi.parse((await api.app.inject({ method: 'GET', url: '/openapi.json' })).json());
    const failures: string[] = [];
    const probed = new Set<string>();
    let cases = 0;

    const pathValues: Record<string, string> = {
      tenant,
      connectionId: 'warehouse',
      runId: 'run-1',
      keyId: '0123456789abcdef',
      accountId: 'default',
      incidentId: 'incident-1',
      qualifiedName: encodeURIComponent('postgres://warehouse/sales/public/orders'),
    };
    const queryValues: Record<string, string> = {
      name: 'postgres://warehouse/sales/public/orders',
      table: 'postgres://warehouse/sales/public/orders',
    };

    for (const [template, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const route = `${method.toUpperCase()} ${template}`;
        const webhook = template.endsWith('/webhooks/monte-carlo');
        const key = operation.description?.startsWith('Requires an admin key of the operator tenant')
          ? operatorKey
          : adminKey;
        const parameters = operation.parameters ?? [];
        const urlWith = (hostile?: { where: string; name: string; text: string }) => {
          const path = template.replace(/\{(\w+)\}/g, (_, name: string) =>
            hostile?.where === 'path' && hostile.name === name ? hostile.text : (pathValues[name] ?? 'x'),
          );
          const query = parameters
            .filter(
              (p) =>
                p.in === 'query' &&
                (queryValues[p.name] !== undefined || (hostile?.where === 'query' && hostile.name === p.name)),
            )
            .map(
              (p) =>
                `${p.name}=${hostile?.where === 'query' && hostile.name === p.name ? hostile.text : encodeURIComponent(queryValues[p.name]!)}`,
            )
            .join('&');
          return query ? `${path}?${query}` : path;
        };
        const send = async (
          what: string,
          url: string,
          body: string | Buffer | undefined,
          expect: RegExp | 'not 5xx',
        ) => {
          cases++;
          const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
          if (webhook && body !== undefined) {
            try {
              headers[MONTE_CARLO_SIGNATURE_HEADER] = signMonteCarloBody(Buffer.from(body), secret);
            } catch {
              headers[MONTE_CARLO_SIGNATURE_HEADER] = 'unsignable';
            }
          } else headers.authorization = `Bearer ${key}`;
          const response = await api.app.inject({
            method: method.toUpperCase() as 'GET',
            url,
            headers,
            ...(body !== undefined && { payload: body }),
          });
          if (response.statusCode >= 500) failures.push(`${route} ${what}: ${response.statusCode} ${response.body}`);
          else if (expect !== 'not 5xx') {
            const error = (response.json<{ error?: string }>().error ?? '').toString();
            if (response.statusCode !== 400 || !expect.test(error)) {
              failures.push(`${route} ${what}: ${response.statusCode} ${response.body.slice(0, 300)}`);
            }
          }
        };

        const hasBody = operation.requestBody !== undefined || webhook;
        const schema = operation.requestBody?.content['application/json']?.schema ?? {};
        const base: unknown = webhook
          ? monteCarloBody
          : template.endsWith('/lineage')
            ? openLineageEvent
            : sample(schema);
        const emptyBody = hasBody ? JSON.stringify(base) : undefined;

        for (const parameter of parameters) {
          if (parameter.in !== 'path' && parameter.in !== 'query') continue;
          for (const hostile of HOSTILE_IN_URL) {
            const where = parameter.in === 'path' ? 'URL' : 'query';
            // The tenant is checked against the key first: another tenant's URL is a 403, never a 500.
            const expected =
              parameter.name === 'tenant' || hostile.says.source === '.'
                ? 'not 5xx'
                : new RegExp(`^invalid ${where}: ${parameter.name}: ${hostile.says.source}`);
            await send(
              `${parameter.in} ${parameter.name} with ${hostile.name}`,
              urlWith({ where: parameter.in, name: parameter.name, text: hostile.text }),
              emptyBody,
              expected,
            );
          }
        }
        if (hasBody) {
          const paths = webhook ? leavesOf(base) : stringPaths(schema);
          for (const path of [...paths, ['extraField']]) {
            for (const hostile of HOSTILE) {
              const body = JSON.stringify(withValueAt(base, path, hostile.text));
              const named = `^invalid body: ${escape(pathText(path))}: ${hostile.says.source}`;
              // Monte Carlo signs urlencode(json.loads(body)), which Python cannot encode with a surrogate in a
              // top-level value: no signature can hold, so such a body is refused before it is read.
              const unsignable =
                webhook && hostile.text.includes('\uD800')
                  ? '|^the body is not a JSON object \\(a lone surrogate has no UTF-8 encoding\\)'
                  : '';
              await send(
                `body ${pathText(path)} with ${hostile.name}`,
                urlWith(),
                body,
                new RegExp(named + unsignable),
              );
            }
          }
          const keyed = JSON.stringify({ ...(base as object), ['bad\u0000key']: 1 });
          await send('body with a NUL in a key', urlWith(), keyed, /^invalid body: has a key that contains a NUL/);
          // Within what Monte Carlo's own JSON reader takes (it stops near 512 levels), so the signature holds.
          const deep = JSON.stringify(base).replace(/^\{/, `{"deep":${deeplyNested(webhook ? 100 : 100_000)},`);
          await send('body nested too deep', urlWith(), deep, /^invalid body: deep(\.a)+: nests deeper than 64 levels/);
          if (webhook)
            await send(
              'body nested 100,000 levels',
              urlWith(),
              deeplyNested(100_000),
              /^the body is not a JSON object \(nested too deeply/,
            );
        }
        probed.add(route);
      }
    }

    assert.deepEqual(failures, [], `${failures.length} of ${cases} probes failed`);
    for (const expected of [
      'PUT /v1/tenants/{tenant}/connections/{connectionId}',
      'POST /v1/tenants/{tenant}/lineage',
      'POST /v1/tenants/{tenant}/webhooks/monte-carlo',
      'POST /v1/tenants/{tenant}/annotations',
      'PUT /v1/tenants/{tenant}/service-accounts/{accountId}',
      'POST /v1/tenants/{tenant}/api-keys',
      'POST /v1/tenants',
      'PATCH /v1/tenants/{tenant}',
      'GET /v1/tenants/{tenant}/assets/{qualifiedName}',
      'GET /v1/tenants/{tenant}/runs/{runId}/events',
    ]) {
      assert.ok(probed.has(expected), `${expected} was probed`);
    }
    assert.ok(cases > 300, `${cases} probes`);
  });

  describe('inbound Kafka topics', () => {
    let bridges: Bridge[] = [];
    let deadLetters: Tail;

    const [commandsTopic, incidentsTopic, lineageTopic] = (['commands', 'incidents', 'lineage'] as const).map((kind) =>
      inboundTopic(tenant, kind),
    ) as [string, string, string];

    before(async () => {
      const { stack } = api;
      await stack.tenantTopics(tenant);
      deadLetters = await stack.tail(topics.deadLetters);
      // The bridges are their own principal, serving only this file's tenant, whose topics are new and empty.
      const only = { tenants: [tenant] };
      bridges = [
        await stack.bridge(createCommandBridge, testGroup('hostile-commands'), only),
        await stack.bridge(createIncidentBridge, testGroup('hostile-incidents'), only),
        await stack.bridge(createLineageBridge, testGroup('hostile-lineage'), only),
      ];
    });

    it('dead-letters hostile events with the field in the reason, and the bridges move on', async () => {
      const tag = uniqueId('h').replace(/\W/g, '_');
      const annotation = (id: string, value: string): AnnotationRequested => ({
        id,
        type: 'asset.annotation-requested',
        version: 1,
        tenant,
        source: 'test',
        occurredAt: new Date().toISOString(),
        payload: { qualifiedName: 'postgres://w/db/s/t', op: 'add', attribute: 'description', value, actor: 'test' },
      });
      const lineage = (id: string, payload: Record<string, unknown>) =>
        ({
          id,
          type: 'lineage.openlineage',
          version: 1,
          tenant,
          source: 'test',
          occurredAt: new Date().toISOString(),
          payload,
        }) as OpenLineageReceived;
      const incident = incidentEvent(tenant, `inc-${tag}`, 1);
      const deepFacet = `deep_${tag}`;
      const olRun = openLineageEvent.run as Record<string, unknown>;
      const cases: { topic: string; key: string; value: Buffer; id: string; reason: RegExp }[] = [
        {
          topic: commandsTopic,
          key: tenant,
          value: Buffer.from(JSON.stringify(annotation(`nul-${tag}`, 'PII\u0000'))),
          id: `nul-${tag}`,
          reason: /^invalid event: payload\.value: contains a NUL/,
        },
        {
          topic: commandsTopic,
          key: tenant,
          value: Buffer.concat([
            Buffer.from(`{"id":"utf8-${tag}","x":"`),
            Buffer.from([0xed, 0xa0, 0x80]),
            Buffer.from('"}'),
          ]),
          id: `utf8-${tag}`,
          reason: /^not UTF-8/,
        },
        {
          topic: incidentsTopic,
          key: incidentKey(tenant, incident.payload.incidentId),
          value: Buffer.from(
            JSON.stringify({ ...incident, id: `sur-${tag}`, payload: { ...incident.payload, owner: 'x\uDC00' } }),
          ),
          id: `sur-${tag}`,
          reason: /^invalid event: payload\.owner: contains an unpaired UTF-16 surrogate/,
        },
        {
          topic: lineageTopic,
          key: lineageKey(tenant, { namespace: 'ns', name: 'a\u0000' }),
          value: Buffer.from(
            JSON.stringify(lineage(`olnul-${tag}`, { ...openLineageEvent, job: { namespace: 'ns', name: 'a\u0000' } })),
          ),
          id: `olnul-${tag}`,
          reason: /^invalid event: payload\.job\.name: contains a NUL/,
        },
        {
          topic: lineageTopic,
          key: `${tenant}/deep`,
          value: Buffer.from(
            JSON.stringify(
              lineage(`oldeep-${tag}`, { ...openLineageEvent, run: { ...olRun, facets: { x: 1 } } }),
            ).replace('"facets":{"x":1}', `"facets":{"${deepFacet}":${deeplyNested(100_000)}}`),
          ),
          id: deepFacet,
          reason: new RegExp(
            `^invalid event: payload\\.run\\.facets\\.${deepFacet}(\\.a)+.*: nests deeper than 64 levels`,
          ),
        },
      ];
      const offsets = new Map<string, { partition: number; offset: number }>();
      for (const { topic, key, value } of cases) {
        const [sent] = await api.deps.producer.send({ topic, acks: -1, messages: [{ key, value }] });
        offsets.set(`${topic}/${sent!.partition}`, { partition: sent!.partition, offset: Number(sent!.baseOffset) });
      }
      for (const { topic, id, reason } of cases) {
        const kept: KafkaMessage = await deadLetters.waitFor(
          (m) =>
            m.headers?.['dlq-source-topic']?.toString() === topic &&
            reason.test(m.headers?.['dlq-reason']?.toString() ?? '') &&
            (m.value === null || m.value.includes(id)),
        );
        assert.ok(kept.headers?.['dlq-archive-key'], `${id}: archived in S3`);
      }
      // Past every hostile event: each bridge committed beyond the last one it was given.
      await withKafkaAdmin(config, async (admin) => {
        for (const [where, { partition, offset }] of offsets) {
          const topic = where.slice(0, where.lastIndexOf('/'));
          const groupId = bridges[[commandsTopic, incidentsTopic, lineageTopic].indexOf(topic)]!.groupId;
          await eventually(
            async () => {
              const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
              const at = Number(committed!.partitions.find((p) => p.partition === partition)?.offset ?? -1);
              return at > offset ? true : undefined;
            },
            30_000,
            `${groupId} past offset ${offset} of ${where}`,
          );
        }
      });
    });
  });
});
