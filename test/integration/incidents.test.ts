import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Producer } from 'kafkajs';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IncidentEvent } from '../../lib/incidents/contracts.js';
import { loadDefaultRules } from '../../lib/mapping/index.js';
import { qualifiedNameFor } from '../../lib/incidents/monteCarlo/index.js';
import { runSearchAttributes } from '../../lib/temporal/searchAttributes.js';
import { incidentStore } from '../../lib/stores/incidents.js';
import { lakeWriter } from '../../lib/stores/lake.js';
import { inboundTopic, incidentKey, topics } from '../../lib/kafka/topics.js';
import { incidentPartitionWorkflowId } from '../../lib/temporal/workflowIds.js';
import { createIncidentBridge } from '../../workers/incidentBridge.js';
import { incidentEventsUpdate, incidentPartition, incidentPartitionQuery } from '../../workflows/index.js';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { eventually, testConfig, testGroup, uniqueId, uniqueTenant } from '../support/harness.js';
import { incidentEvent, produceIncidentEvents, resolvedIncident, tenantWithMonteCarlo } from '../support/incidents.js';
import { openStack } from '../support/stack.js';

const config = testConfig();
const tenant = uniqueTenant('incidents');
/** Has topics but no row in the control plane: its events are refused as an unknown tenant's. */
const ghost = uniqueTenant('ghost');
const stack = openStack(config);
const { s3, cassandra, postgres, temporal } = stack;
const incidents = incidentStore(cassandra);
const tableName = (table: string) =>
  qualifiedNameFor(
    { database: 'analytics', schema: 'prod', table },
    { sourceType: 'ndjson', connectionId: 'warehouse' },
    loadDefaultRules(),
  );

describe('Monte Carlo incidents through Kafka, the bridge and the incident workflow', () => {
  let producer: Producer;

  before(async () => {
    await stack.workers();
    producer = await stack.producer();
    stack.dropTopicsAtClose(tenant);
    await tenantWithMonteCarlo(config, postgres, tenant);
    await stack.tenantTopics(ghost);
    // The bridge is its own principal; it serves only this file's tenants (their topics are new and empty).
    await stack.bridge(createIncidentBridge, testGroup('incident-bridge'), { tenants: [tenant, ghost] });
  });

  after(() => stack.close());

  it('follows an incident from opened to resolved on its asset, applying each event once', async () => {
    const id = uniqueId('inc-life');
    const orders = tableName('orders');
    await produceIncidentEvents(producer, [incidentEvent(tenant, id, 0)]);
    const opened = await eventually(
      async () => (await incidents.assetView(tenant, orders)).openIncidents.find((i) => i.incidentId === id),
      30_000,
      'the opened incident on its asset',
    );
    assert.equal(opened.status, 'open');
    assert.equal(opened.incidentType, 'open_anomaly_incident');

    const updated = incidentEvent(tenant, id, 1, { severity: 'SEV-2' });
    const resolved = incidentEvent(tenant, id, 2, { feedback: 'fixed' });
    // The update again, and the opening again: redeliveries, ignored by event id.
    await produceIncidentEvents(producer, [updated, updated, incidentEvent(tenant, id, 0), resolved]);
    const record = await resolvedIncident(incidents, tenant, id, 'the incident resolved', 30_000);
    assert.equal(record?.eventsApplied, 3, 'three distinct events, each applied once');
    assert.equal(record?.severity, 'SEV-2');
    assert.equal(record?.owner, 'owner-2@example.com');
    assert.deepEqual(record?.qualifiedNames, [orders]);
    const view = await incidents.assetView(tenant, orders);
    assert.equal(
      view.openIncidents.find((i) => i.incidentId === id),
      undefined,
    );
    assert.equal(view.recentIncidents.find((i) => i.incidentId === id)?.feedback, 'fixed');

    // Temporal owns it: the workflow of the incident's partition shows it (its query, and the Web UI's details).
    const shown = await eventually(
      async () => {
        for (let partition = 0; partition < config.kafka.tenantPartitions; partition++) {
          const handle = temporal.workflow.getHandle(incidentPartitionWorkflowId(tenant, partition));
          const partitionView = await handle.query(incidentPartitionQuery).catch(() => undefined);
          const found = partitionView?.recentIncidents.find((i) => i.incidentId === id);
          if (!found) continue;
          // What the Web UI shows as the workflow's current details (the SDK's built-in metadata query).
          const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
          return { found, details: metadata.currentDetails ?? '' };
        }
        return undefined;
      },
      10_000,
      'the incident in its partition workflow',
    );
    assert.deepEqual(
      { status: shown.found.status, eventsApplied: shown.found.eventsApplied, assets: shown.found.qualifiedNames },
      { status: 'resolved', eventsApplied: 3, assets: 1 },
    );
    assert.match(shown.details, new RegExp(`\\| ${id} \\| resolved \\| 3 \\| 1 \\|`));
  });

  it('applies one incident’s events in the order they were produced', async () => {
    const id = uniqueId('inc-order');
    const events = Array.from({ length: 25 }, (_, n) => incidentEvent(tenant, id, n));
    await produceIncidentEvents(producer, events);
    const record = await eventually(
      async () => {
        const found = await incidents.get(tenant, id);
        return found?.eventsApplied === events.length ? found : undefined;
      },
      60_000,
      'every event applied',
    );
    assert.equal(record.owner, 'owner-24@example.com', 'the last event produced is the last applied');
  });

  it('keeps an incident on a table not yet in the catalog, and shows it once the table lands', async () => {
    const id = uniqueId('inc-early');
    const later = tableName('not_yet_ingested');
    await produceIncidentEvents(producer, [incidentEvent(tenant, id, 0, {}, 'not_yet_ingested')]);
    const early = await eventually(
      async () => {
        const view = await incidents.assetView(tenant, later);
        return view.openIncidents.length ? view : undefined;
      },
      30_000,
      'the incident kept under the table’s name',
    );
    assert.equal(early.asset, null, 'the table is not in the catalog yet');

    await lakeWriter(cassandra).upsertAssets(tenant, 'warehouse', 'run-1', [
      {
        asset: {
          qualifiedName: later,
          assetType: 'table',
          name: 'not_yet_ingested',
          parentQualifiedName: later.slice(0, later.lastIndexOf('/')),
          dataType: null,
          sourceDataType: null,
          nullable: null,
          defaultValue: null,
          ordinal: null,
          comment: null,
          tags: [],
          properties: {},
        },
        fingerprint: 'f',
      },
    ]);
    const landed = await incidents.assetView(tenant, later);
    assert.equal(landed.asset?.assetType, 'table');
    assert.equal(landed.openIncidents[0]?.incidentId, id);
  });

  it("continues a partition's workflow as new, passes over redeliveries, and ends it when quiet", async () => {
    const id = uniqueId('inc-long');
    // A partition of its own (the topic has fewer), so no bridge delivers to this workflow meanwhile.
    const partition = 40;
    const workflowId = incidentPartitionWorkflowId(tenant, partition);
    const topic = inboundTopic(tenant, 'incidents');
    const deliver = (n: number) =>
      temporal.workflow.executeUpdateWithStart(incidentEventsUpdate, {
        args: [
          { deliveries: [{ event: incidentEvent(tenant, id, n), origin: { topic, partition, offset: String(n) } }] },
        ],
        startWorkflowOperation: new WithStartWorkflowOperation(incidentPartition, {
          workflowId,
          taskQueue: config.temporal.taskQueue,
          args: [{ tenant, topic, partition, quietPeriodMs: 3_000, eventsPerRun: 5 }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          typedSearchAttributes: runSearchAttributes(tenant, 'incident'),
        }),
      });
    for (let n = 0; n < 12; n++) {
      const receipt = await deliver(n);
      assert.equal(receipt.appliedThrough, n, 'the update returns once its event is applied');
      if (n === 6) assert.equal((await deliver(3)).appliedThrough, 6, 'a redelivery is answered, not applied');
    }
    const view = await temporal.workflow.getHandle<typeof incidentPartition>(workflowId).result();
    assert.equal(view.appliedThrough, 11);
    assert.equal(view.recentIncidents.at(-1)?.eventsApplied, 12);
    const record = await incidents.get(tenant, id);
    assert.equal(record?.status, 'open', 'it ended for quiet, not resolved');
    assert.equal(record?.eventsApplied, 12);
    assert.equal(record?.owner, 'owner-11@example.com');
    let executions = 0;
    for await (const execution of temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      executions += execution.status.name === 'CONTINUED_AS_NEW' ? 1 : 0;
    }
    assert.ok(executions >= 2, `continued as new every 5 events (${executions} times)`);
  });

  it('dead-letters every kind of bad event with its reason and raw bytes, and moves on', async () => {
    const dlq = await stack.tail(topics.deadLetters);
    const unknownTenant = incidentEvent(ghost, uniqueId('inc-x'), 0);
    const otherTenant = incidentEvent(tenant, uniqueId('inc-y'), 0);
    const poison = incidentEvent(tenant, uniqueId('inc-poison'), 0, {}, 'p'.repeat(70_000)); // a key Cassandra refuses
    const bad: { name: string; key: string; value: Buffer; reason: RegExp }[] = [
      { name: 'malformed JSON', key: `${tenant}/x`, value: Buffer.from('{"id": '), reason: /^malformed JSON/ },
      {
        name: 'schema-invalid',
        key: `${tenant}/x`,
        value: Buffer.from(JSON.stringify({ ...otherTenant, payload: { incidentId: 'x' } })),
        reason: /^invalid event/,
      },
      {
        name: 'a key of another tenant than its topic',
        key: incidentKey('someone-else', otherTenant.payload.incidentId),
        value: Buffer.from(JSON.stringify(otherTenant)),
        reason: /^tenant mismatch: message key is "someone-else\//,
      },
      {
        name: 'another tenant than its topic',
        key: incidentKey(unknownTenant.tenant, unknownTenant.payload.incidentId),
        value: Buffer.from(JSON.stringify(unknownTenant)),
        reason: new RegExp(`^tenant mismatch: the event claims "${ghost}" on tenant "${tenant}"'s topic`),
      },
      {
        name: 'oversized',
        key: `${tenant}/x`,
        value: Buffer.alloc(config.kafka.maxMessageBytes + 1, 'x'),
        reason: /^oversized/,
      },
      {
        name: 'poison (its activity fails)',
        key: incidentKey(tenant, poison.payload.incidentId),
        value: Buffer.from(JSON.stringify(poison)),
        reason: /could not apply the event: .*Cassandra refused/,
      },
    ];
    const after: IncidentEvent = incidentEvent(tenant, uniqueId('inc-after'), 0);
    await producer.send({
      topic: inboundTopic(tenant, 'incidents'),
      acks: -1,
      messages: [
        ...bad.map(({ key, value }) => ({ key, value })),
        { key: incidentKey(tenant, after.payload.incidentId), value: JSON.stringify(after) },
      ],
    });
    // A tenant with topics but unknown to the control plane (never onboarded, or removed) is refused as such.
    const unknown = { key: incidentKey(ghost, unknownTenant.payload.incidentId), value: JSON.stringify(unknownTenant) };
    await producer.send({ topic: inboundTopic(ghost, 'incidents'), acks: -1, messages: [unknown] });
    bad.push({
      name: 'unknown tenant',
      key: unknown.key,
      value: Buffer.from(unknown.value),
      reason: /^unknown tenant/,
    });

    // Only this file's letters: other runs on the same stack dead-letter to the same topic.
    const ours = [inboundTopic(tenant, 'incidents'), inboundTopic(ghost, 'incidents')];
    for (const { name, value, reason } of bad) {
      const letter = await dlq.waitFor(
        (m) =>
          reason.test(m.headers?.['dlq-reason']?.toString() ?? '') &&
          ours.includes(m.headers?.['dlq-source-topic']?.toString() ?? ''),
        60_000,
      );
      const archiveKey = letter.headers?.['dlq-archive-key']?.toString();
      assert.ok(archiveKey, `${name}: the dead letter names its S3 archive`);
      const archived = await s3.send(new GetObjectCommand({ Bucket: config.s3.bucket, Key: archiveKey }));
      const bytes = Buffer.from(await archived.Body!.transformToByteArray());
      if (name === 'poison (its activity fails)')
        assert.equal((JSON.parse(bytes.toString()) as IncidentEvent).id, poison.id, name);
      else assert.ok(bytes.equals(value), `${name}: the raw bytes are archived`);
    }
    await dlq.stop();
    const applied = await eventually(() => incidents.get(tenant, after.payload.incidentId), 30_000, 'the event after');
    assert.equal(applied.eventsApplied, 1, 'the stream moved on past every bad event');
  });
});
