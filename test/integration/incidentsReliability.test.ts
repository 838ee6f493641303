import type { Producer, RecordMetadata } from 'kafkajs';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { withKafkaAdmin } from '../../lib/kafka/provisioning.js';
import { runSearchAttributes } from '../../lib/temporal/searchAttributes.js';
import { incidentStore } from '../../lib/stores/incidents.js';
import { inboundTopic, topics } from '../../lib/kafka/topics.js';
import { incidentPartitionWorkflowId } from '../../lib/temporal/workflowIds.js';
import { createIncidentBridge } from '../../workers/incidentBridge.js';
import type { Bridge } from '../../workers/topicBridge.js';
import { incidentPartition, incidentPartitionQuery } from '../../workflows/index.js';
import { endpointOf, startCuttableProxy, viaProxy, type CuttableProxy } from '../support/cuttableProxy.js';
import { eventually, testConfig, testGroup, uniqueId, uniqueTenant } from '../support/harness.js';
import { incidentEvent, resolvedIncident, tenantWithMonteCarlo } from '../support/incidents.js';
import { openStack } from '../support/stack.js';

/**
 * The incident workflow holds the only copy of an event once the bridge committed its offset. Here the worker reaches
 * PostgreSQL (which saving an incident reads first) and S3 (where a dead letter goes first) through proxies the test
 * cuts: events can be neither applied nor dead-lettered. The workflow must keep them, back off, continue as new with
 * them, and apply every one of them once the services are back, without failing.
 *
 * The tenant's partition workflows are started first, as the bridge would start them but with short retries, so the
 * test sees several rounds of them; the bridge's updates go to these runs.
 */

const config = testConfig();
const tenant = uniqueTenant('inc-rel');
const stack = openStack(config);
const { cassandra, postgres, temporal } = stack;
const incidents = incidentStore(cassandra);
const incidentsTopic = inboundTopic(tenant, 'incidents');

describe('an incident workflow whose save and dead letter both fail', () => {
  let postgresProxy: CuttableProxy;
  let s3Proxy: CuttableProxy;
  let bridge: Bridge;
  let producer: Producer;

  before(async () => {
    postgresProxy = await startCuttableProxy(endpointOf(config.postgres.url));
    s3Proxy = await startCuttableProxy(endpointOf(config.s3.endpoint));
    stack.defer(() => Promise.all([postgresProxy.close(), s3Proxy.close()]));
    await stack.workers(
      testConfig({
        METASYNC_POSTGRES_URL: viaProxy(config.postgres.url, postgresProxy),
        METASYNC_S3_ENDPOINT: viaProxy(config.s3.endpoint, s3Proxy),
      }),
    );
    // Whatever a test left cut is mended first, so the workers can stop.
    stack.defer(() => Promise.all([postgresProxy.restore(), s3Proxy.restore()]).catch(() => undefined));
    producer = await stack.producer();
    await tenantWithMonteCarlo(config, postgres, tenant);
    await stack.tenantTopics(tenant);
    // The bridge is its own principal; it serves only this file's tenant, whose topics are new and empty.
    for (let partition = 0; partition < config.kafka.tenantPartitions; partition++) {
      const handle = await temporal.workflow.start(incidentPartition, {
        workflowId: incidentPartitionWorkflowId(tenant, partition),
        taskQueue: config.temporal.taskQueue,
        args: [
          {
            tenant,
            topic: incidentsTopic,
            partition,
            quietPeriodMs: 600_000,
            eventsPerRun: 3,
            retry: { attempts: 2, firstBackoffMs: 500, maxBackoffMs: 2_000 },
          },
        ],
        typedSearchAttributes: runSearchAttributes(tenant, 'incident'),
      });
      stack.defer(() => handle.terminate('the test is over').catch(() => undefined));
    }
    bridge = await stack.bridge(createIncidentBridge, testGroup('incident-rel'), { tenants: [tenant] });
  });

  /** The run of the partition's workflow now, and what its query shows. */
  const partitionWorkflow = (partition: number) =>
    temporal.workflow.getHandle<typeof incidentPartition>(incidentPartitionWorkflowId(tenant, partition));

  after(() => stack.close());

  it('keeps the queued events through continue-as-new, and applies them all once PostgreSQL and S3 are back', async () => {
    const id = uniqueId('inc-stuck');
    await postgresProxy.cut();
    await s3Proxy.cut();
    const events = Array.from({ length: 5 }, (_, n) =>
      incidentEvent(tenant, id, n, n === 4 ? { feedback: 'fixed' } : {}),
    );
    const produced: RecordMetadata[] = await producer.send({
      topic: incidentsTopic,
      acks: -1,
      messages: events.map((event) => ({ key: `${tenant}/${id}`, value: JSON.stringify(event) })),
    });
    assert.equal(produced.length, 1, 'one incident, one partition');
    const { partition, baseOffset } = produced[0]!;
    const workflowId = incidentPartitionWorkflowId(tenant, partition);

    // Kafka has let go of them: the bridge committed past all five once the workflow took them over.
    await withKafkaAdmin(config, (admin) =>
      eventually(
        async () => {
          const [offsets] = await admin.fetchOffsets({ groupId: bridge.groupId, topics: [incidentsTopic] });
          const committed = Number(offsets!.partitions.find((p) => p.partition === partition)?.offset ?? -1);
          return committed >= Number(baseOffset) + events.length ? true : undefined;
        },
        60_000,
        'the bridge committing the five events',
      ),
    );

    // Neither saved nor dead-lettered, round after round: the workflow continues as new with its queue, and lives.
    await eventually(
      async () => {
        let continued = 0;
        for await (const run of temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
          continued += run.status.name === 'CONTINUED_AS_NEW' ? 1 : 0;
        }
        return continued >= 2 ? continued : undefined;
      },
      120_000,
      'the workflow continuing as new while stuck',
    );
    const stuck = await partitionWorkflow(partition).query(incidentPartitionQuery);
    assert.equal(stuck.queued, 5, 'the five events go along from run to run');
    assert.equal(stuck.receivedThrough, Number(baseOffset) + 4);
    assert.equal((await partitionWorkflow(partition).describe()).status.name, 'RUNNING');
    assert.equal(await incidents.get(tenant, id), undefined, 'nothing applied while PostgreSQL is away');

    await postgresProxy.restore();
    await s3Proxy.restore();
    const stored = await resolvedIncident(incidents, tenant, id, 'every queued event applied', 60_000);
    assert.equal(stored.eventsApplied, 5, 'every queued event applied, each once');
    assert.equal(stored.owner, 'owner-4@example.com', 'in the order they were produced');
    assert.deepEqual(
      stored.recentEventIds,
      events.map((event) => event.id),
    );
    const settled = await partitionWorkflow(partition).query(incidentPartitionQuery);
    assert.deepEqual(
      { queued: settled.queued, appliedThrough: settled.appliedThrough },
      { queued: 0, appliedThrough: Number(baseOffset) + 4 },
    );
    assert.equal((await partitionWorkflow(partition).describe()).status.name, 'RUNNING', 'it lives on, for the next');
  });

  it('keeps an event no retry can apply until S3 takes its dead letter, applying the next meanwhile', async () => {
    const id = uniqueId('inc-poison');
    const deadLetters = await stack.tail(topics.deadLetters);
    await s3Proxy.cut();
    // A table name whose qualified name Cassandra refuses as a key: saving fails for good, and S3 is away.
    const poison = incidentEvent(tenant, id, 0, {}, 'p'.repeat(70_000));
    const next = incidentEvent(tenant, id, 1, { feedback: 'fixed' });
    const [produced] = await producer.send({
      topic: incidentsTopic,
      acks: -1,
      messages: [poison, next].map((event) => ({ key: `${tenant}/${id}`, value: JSON.stringify(event) })),
    });
    const { partition, baseOffset } = produced!;
    // The next event does not wait for the refused one: it is applied without it (never with its table).
    const record = await resolvedIncident(incidents, tenant, id, 'the event after the poison applied', 60_000);
    assert.equal(record.eventsApplied, 1, 'the poison event is not applied');
    assert.deepEqual(record.recentEventIds, [next.id]);
    await new Promise((resolve) => setTimeout(resolve, 5_000)); // several rounds of dead-lettering failing
    const kept = await partitionWorkflow(partition).query(incidentPartitionQuery);
    assert.equal(kept.queued, 2, 'the poison event stays queued (and the batch after it) while S3 is away');
    assert.ok(kept.appliedThrough < Number(baseOffset), 'its offset is not passed');

    await s3Proxy.restore();
    const letter = await deadLetters.waitFor((m) => m.value?.toString().includes(`"id":"${poison.id}"`) === true);
    await deadLetters.stop();
    assert.match(letter.headers?.['dlq-reason']?.toString() ?? '', /^could not apply the event: .*Cassandra refused/);
    const settled = await eventually(
      async () => {
        const view = await partitionWorkflow(partition).query(incidentPartitionQuery);
        return view.queued === 0 ? view : undefined;
      },
      30_000,
      'the queue settled',
    );
    assert.equal(settled.appliedThrough, Number(baseOffset) + 1);
    assert.equal((await incidents.get(tenant, id))?.eventsApplied, 1, 'the next event was not applied again');
  });
});
