import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { SkeletonRequested } from '../../lib/ingest/contracts.js';
import { sampleEstate, sampleEstateSize } from '../../lib/ingest/sampleEstate.js';
import { TenantIdAttribute } from '../../lib/temporal/searchAttributes.js';
import { saveTenant } from '../../lib/stores/tenants.js';
import { inboundTopic, topics } from '../../lib/kafka/topics.js';
import { skeletonWorkflowId } from '../../lib/temporal/workflowIds.js';
import { createCommandBridge } from '../../workers/commandBridge.js';
import { eventually, testConfig, testGroup, uniqueTenant, type Tail } from '../support/harness.js';
import { openStack } from '../support/stack.js';

// A small message limit, so the oversized case needs no multi-megabyte message.
const config = testConfig({ METASYNC_MAX_MESSAGE_BYTES: '65536' });
const tenant = uniqueTenant('skel');
const otherTenant = uniqueTenant('other');
const runId = 'run-1';
const tables = 3;
const columnsPerTable = 4;
const workflowId = skeletonWorkflowId(tenant, runId);

const stack = openStack(config);
const { s3, cassandra, postgres, temporal } = stack;

const command: SkeletonRequested = {
  id: randomUUID(),
  type: 'skeleton.requested',
  version: 1,
  tenant,
  source: 'test',
  occurredAt: new Date().toISOString(),
  payload: { runId, tables, columnsPerTable },
};

/** Bad messages share the good command's key, so they land on its partition ahead of it: it runs only if none stalls. */
const badMessages: { value: Buffer; reason: RegExp }[] = [
  { value: Buffer.from('{"id": "not json'), reason: /^malformed JSON/ },
  {
    value: Buffer.from(JSON.stringify({ ...command, type: 'skeleton.requested', payload: { runId } })),
    reason: /^invalid event/,
  },
  { value: Buffer.from(JSON.stringify({ ...command, tenant: otherTenant })), reason: /^tenant mismatch/ },
  { value: Buffer.alloc(70_000, 'x'), reason: /^oversized message: 70000 bytes > 65536/ },
];

describe('walking skeleton: a Kafka command runs through S3, Spark, Cassandra, Kafka and PostgreSQL', () => {
  let events: Tail;
  let deadLetters: Tail;

  before(async () => {
    await saveTenant(postgres, tenant);
    // The command comes from the tenant's own Kafka principal, onto its own commands topic.
    const producer = await stack.producer(await stack.tenantOnKafka(tenant));
    events = await stack.tail(topics.events);
    deadLetters = await stack.tail(topics.deadLetters);
    await stack.workers();
    await stack.bridge(createCommandBridge, testGroup('command-bridge'), { tenants: [tenant] });

    await producer.send({
      topic: inboundTopic(tenant, 'commands'),
      acks: -1,
      messages: [
        ...badMessages.map(({ value }) => ({ key: tenant, value })),
        { key: tenant, value: JSON.stringify(command) },
        { key: tenant, value: JSON.stringify(command) }, // a replay of the same command: it must not run twice
      ],
    });
    await eventually(
      () =>
        temporal.workflow
          .getHandle(workflowId)
          .describe()
          .catch(() => undefined),
      60_000,
      'the run',
    );
    await temporal.workflow.getHandle(workflowId).result();
  });

  after(() => stack.close());

  it('completes in Temporal once, findable by its tenant', async () => {
    const description = await temporal.workflow.getHandle(workflowId).describe();
    assert.equal(description.status.name, 'COMPLETED');
    assert.deepEqual(description.typedSearchAttributes.get(TenantIdAttribute), tenant);
    const runs = await eventually(
      async () => {
        const found = [];
        for await (const run of temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) found.push(run);
        return found.length ? found : undefined;
      },
      10_000,
      'the run in visibility',
    );
    assert.equal(runs.length, 1, 'the replayed command started a second run');
  });

  it('wrote the sample estate to S3 under the tenant prefix', async () => {
    const key = `tenants/${tenant}/runs/${runId}/skeleton/assets.ndjson.gz`;
    const object = await s3.send(new GetObjectCommand({ Bucket: config.s3.bucket, Key: key }));
    const lines = gunzipSync(Buffer.from(await object.Body!.transformToByteArray()))
      .toString('utf8')
      .trim()
      .split('\n');
    assert.equal(lines.length, sampleEstateSize(tables, columnsPerTable));
  });

  it('loaded every asset into Cassandra through the Spark job', async () => {
    const expected = [...sampleEstate(tenant, runId, tables, columnsPerTable)];
    const rows = await cassandra.execute(
      'SELECT qualified_name, asset_type, run_id, data_type FROM assets WHERE tenant = ? AND qualified_name IN ?',
      [tenant, expected.map((asset) => asset.qualifiedName)],
    );
    assert.equal(rows.rowLength, expected.length);
    const byName = new Map(rows.rows.map((row) => [row.get('qualified_name') as string, row]));
    for (const asset of expected) {
      const row = byName.get(asset.qualifiedName);
      assert.ok(row, `missing ${asset.qualifiedName}`);
      assert.equal(row.get('asset_type'), asset.assetType);
      assert.equal(row.get('data_type'), asset.dataType);
      assert.equal(row.get('run_id'), runId);
    }
  });

  it('published one completion event on Kafka, keyed by tenant', async () => {
    const message = await events.waitFor((m) => m.key?.toString() === tenant);
    const event = JSON.parse(message.value!.toString()) as {
      id: string;
      type: string;
      payload: { assetsWritten: number };
    };
    assert.equal(event.type, 'skeleton.completed');
    assert.equal(event.id, `${workflowId}/completed`);
    assert.equal(event.payload.assetsWritten, sampleEstateSize(tables, columnsPerTable));
  });

  it('recorded the run in PostgreSQL', async () => {
    const { rows } = await postgres.query<{ status: string; counts: Record<string, number>; workflow_id: string }>(
      'SELECT status, counts, workflow_id FROM runs WHERE tenant = $1 AND run_id = $2',
      [tenant, runId],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 'completed');
    assert.equal(rows[0]!.workflow_id, workflowId);
    assert.equal(rows[0]!.counts['written'], sampleEstateSize(tables, columnsPerTable));
  });

  it('dead-letters each bad message with its reason and archives its raw bytes in S3', async () => {
    for (const bad of badMessages) {
      const letter = await deadLetters.waitFor((m) => bad.reason.test(m.headers?.['dlq-reason']?.toString() ?? ''));
      assert.equal(letter.headers?.['dlq-source-topic']?.toString(), inboundTopic(tenant, 'commands'));
      const archiveKey = letter.headers?.['dlq-archive-key']?.toString() ?? '';
      // Only the tenant (or MetaSync) may write its topic, so what is rejected there is kept under the tenant's prefix.
      const expected = `tenants/${tenant}/dead-letters/metasync.inbound.${tenant}.commands/`;
      assert.ok(archiveKey.startsWith(expected) && /\/\d+\/\d+-[0-9a-f]{16}\.bin$/.test(archiveKey), archiveKey);
      const archived = await s3.send(new GetObjectCommand({ Bucket: config.s3.bucket, Key: archiveKey }));
      assert.deepEqual(Buffer.from(await archived.Body!.transformToByteArray()), bad.value);
    }
    // Other suites on the same stack dead-letter too: count what came from this tenant's topic.
    const ours = deadLetters.messages.filter(
      (m) => m.headers?.['dlq-source-topic']?.toString() === inboundTopic(tenant, 'commands'),
    );
    assert.equal(ours.length, badMessages.length);
    await assert.rejects(
      s3.send(new HeadObjectCommand({ Bucket: config.s3.bucket, Key: `tenants/${otherTenant}/` })),
      'nothing may be written under the tenant a mismatched event claimed',
    );
  });
});
