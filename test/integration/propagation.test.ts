import type { KafkaMessage } from 'kafkajs';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { changeOutcome, requestAnnotation } from '../../control/annotate.js';
import { type LineageEdge } from '../../lib/lineage/contracts.js';
import { AnnotationChanged, type AnnotationChange, type PropagationPolicy } from '../../lib/propagation/contracts.js';
import { ensureTopic } from '../../lib/kafka/ensureTopic.js';
import { loadDefaultPolicy, saveTenantPolicy } from '../../lib/propagation/policy.js';
import { annotationStore } from '../../lib/stores/annotations.js';
import { lineageStore } from '../../lib/stores/lineage.js';
import { saveTenant } from '../../lib/stores/tenants.js';
import { outboundTopic } from '../../lib/kafka/topics.js';
import type { ChangeOutcome } from '../../lib/propagation/contracts.js';
import { testConfig, uniqueTenant, type Tail } from '../support/harness.js';
import { openStack } from '../support/stack.js';

const config = testConfig();
const tenant = uniqueTenant('propagation');
const stack = openStack(config);
const { cassandra, postgres, temporal } = stack;
const annotations = annotationStore(cassandra);
const lineage = lineageStore(cassandra);

/** Names of a test's own graph: each test draws its assets from a fresh prefix. */
const namer = () => {
  const prefix = `test://${randomUUID().slice(0, 8)}`;
  return (path: string) => `${prefix}/${path}`;
};

const edge = (upstream: string, downstream: string, extra: Partial<LineageEdge> = {}): LineageEdge => ({
  upstream,
  downstream,
  level: 'table',
  kind: 'manual',
  origin: 'manual',
  propagates: true,
  transformation: null,
  downstreamType: 'table',
  ...extra,
});

describe('propagation of annotations along lineage, on Temporal, Cassandra and Kafka', () => {
  let outbound: Tail;

  const change = async (
    qualifiedName: string,
    op: AnnotationChange['op'],
    attribute: AnnotationChange['attribute'],
    value: string,
  ): Promise<ChangeOutcome> => {
    const ids = await requestAnnotation(
      temporal,
      config.temporal,
      tenant,
      { qualifiedName, op, attribute, value, actor: 'test' },
      randomUUID(),
    );
    return changeOutcome(temporal, ids.changeWorkflowId, 120_000);
  };
  /** The values an asset holds for an attribute, sorted. */
  const values = async (qualifiedName: string, attribute = 'classification') =>
    (await annotations.annotationsOf(tenant, qualifiedName))
      .filter((a) => a.attribute === attribute)
      .map((a) => a.value)
      .sort();
  const eventsFor = (changeId: string): AnnotationChanged['payload'][] =>
    outbound.messages
      .map((m: KafkaMessage) => AnnotationChanged.parse(JSON.parse(m.value!.toString())).payload)
      .filter((p) => p.changeId === changeId);
  /** Outbound events are acknowledged by Kafka before the walk ends; the tail may take a moment to read them. */
  const settleOutbound = async (changeId: string, count: number) => {
    const deadline = Date.now() + 15_000;
    while (eventsFor(changeId).length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300)); // and nothing more than that
    return eventsFor(changeId);
  };

  before(async () => {
    await saveTenant(postgres, tenant, 'Propagation test');
    await stack.workers();
    stack.dropTopicsAtClose(tenant);
    await ensureTopic(stack.kafka, outboundTopic(tenant));
    outbound = await stack.tail(outboundTopic(tenant));
  });

  after(() => stack.close());

  it('carries a column classification to the downstream columns only, with attribution, and publishes each once', async () => {
    const n = namer();
    const [email, stagedEmail, martEmail, name, stagedName] = [
      'db/s/customers/email',
      'db/s/staged/email',
      'db/s/mart/email',
      'db/s/customers/name',
      'db/s/staged/name',
    ].map(n);
    const [customers, staged, mart] = ['db/s/customers', 'db/s/staged', 'db/s/mart'].map(n);
    const column = { level: 'column', downstreamType: 'column' } as const;
    await lineage.upsertEdges(tenant, [
      edge(email!, stagedEmail!, column),
      edge(stagedEmail!, martEmail!, column),
      edge(name!, stagedName!, column),
      edge(customers!, staged!),
      edge(staged!, mart!),
    ]);

    const outcome = await change(email!, 'add', 'classification', 'PII');
    assert.equal(outcome.reached, 3);
    assert.deepEqual(await values(martEmail!), ['PII']);
    assert.deepEqual(await values(mart!), [], 'a column classification does not reach whole tables');
    assert.deepEqual(await values(stagedName!), [], '...nor the other columns of the downstream table');
    const [held] = await annotations.annotationsOf(tenant, martEmail!);
    assert.deepEqual(held!.attributions, [{ source: email, path: [email, stagedEmail, martEmail], depth: 2 }]);

    const events = await settleOutbound(outcome.changeId, 3);
    assert.deepEqual(events.map((e) => e.qualifiedName).sort(), [email, martEmail, stagedEmail].sort());
    assert.ok(events.every((e) => e.change === 'added' && e.attribution.source === email));
    assert.equal(outcome.published, 3);
  });

  it('ends on cycles and self-edges, giving each asset the value once at its shortest depth', async () => {
    const n = namer();
    const [x, y, z] = ['x', 'y', 'z'].map(n);
    await lineage.upsertEdges(tenant, [edge(x!, y!), edge(y!, z!), edge(z!, x!), edge(x!, x!), edge(y!, y!)]);
    const outcome = await change(x!, 'add', 'tag', 'finance');
    assert.equal(outcome.reached, 3);
    assert.deepEqual(await values(z!, 'tag'), ['finance']);
    const [atX] = await annotations.annotationsOf(tenant, x!);
    assert.deepEqual(atX!.attributions, [{ source: x, path: [x], depth: 0 }], 'the source keeps only its own copy');
  });

  it('removes exactly the copies no other live source still gives; re-adding is idempotent', async () => {
    const n = namer();
    const [u, v, m, d] = ['u', 'v', 'm', 'd'].map(n);
    await lineage.upsertEdges(tenant, [edge(u!, m!), edge(v!, m!), edge(m!, d!)]);
    await change(u!, 'add', 'classification', 'GDPR');
    await change(v!, 'add', 'classification', 'GDPR');
    const [atD] = await annotations.annotationsOf(tenant, d!);
    assert.deepEqual(atD!.attributions.map((a) => a.source).sort(), [u, v].sort());

    const again = await change(u!, 'add', 'classification', 'GDPR');
    assert.equal(again.published, 0, 're-adding changes nothing anyone can see');
    assert.equal(again.retracted, 0);

    const removeU = await change(u!, 'remove', 'classification', 'GDPR');
    assert.equal(removeU.retracted, 3);
    const removedEvents = await settleOutbound(removeU.changeId, 1);
    assert.deepEqual(
      removedEvents.map((e) => e.qualifiedName),
      [u],
      'm and d still have GDPR from v: only u lost it',
    );
    assert.deepEqual(await values(d!), ['GDPR']);
    assert.deepEqual(await values(u!), []);

    const removeV = await change(v!, 'remove', 'classification', 'GDPR');
    const lastEvents = await settleOutbound(removeV.changeId, 3);
    assert.deepEqual(lastEvents.map((e) => e.qualifiedName).sort(), [d, m, v].sort());
    assert.ok(lastEvents.every((e) => e.change === 'removed'));
    assert.deepEqual(await values(m!), []);
    assert.deepEqual(await values(d!), []);

    const notSet = await change(m!, 'remove', 'classification', 'GDPR');
    assert.match(notSet.notes.join('; '), /not set on this asset itself/);
  });

  it('honours stop conditions: non-propagating edges, asset types, max depth and per-classification rules', async () => {
    const n = namer();
    const [a, b, blocked, dash, afterDash, excluded, deep1, deep2, deep3] = [
      'a',
      'b',
      'blocked',
      'dash',
      'after-dash',
      'excluded',
      'deep1',
      'deep2',
      'deep3',
    ].map(n);
    await lineage.upsertEdges(tenant, [
      edge(a!, b!),
      edge(a!, blocked!, { kind: 'dbt', origin: 'dbt:p' }),
      edge(a!, blocked!, { kind: 'manual', origin: 'manual', propagates: false }),
      edge(a!, dash!, { downstreamType: 'dashboard' }),
      edge(dash!, afterDash!),
      edge(a!, excluded!, { downstreamType: 'schema' }),
      edge(b!, deep1!),
      edge(deep1!, deep2!),
      edge(deep2!, deep3!),
    ]);
    const defaults = loadDefaultPolicy();
    const policy: PropagationPolicy = {
      ...defaults,
      rules: [
        { attribute: 'classification', values: ['INTERNAL'], propagate: false },
        { attribute: 'classification', values: ['SHALLOW'], propagate: true, maxDepth: 2 },
        ...defaults.rules,
      ],
    };
    await saveTenantPolicy(postgres, tenant, policy);

    await change(a!, 'add', 'classification', 'PII');
    assert.deepEqual(await values(b!), ['PII']);
    assert.deepEqual(await values(deep3!), ['PII']);
    assert.deepEqual(await values(blocked!), [], 'a manual non-propagating mark overrides the dbt edge');
    assert.deepEqual(await values(dash!), ['PII'], 'a dashboard receives the value');
    assert.deepEqual(await values(afterDash!), [], '...and passes it no further');
    assert.deepEqual(await values(excluded!), [], 'schemas are excluded by the default policy');

    await change(a!, 'add', 'classification', 'SHALLOW');
    assert.deepEqual(await values(deep1!), ['PII', 'SHALLOW']);
    assert.deepEqual(await values(deep2!), ['PII'], 'SHALLOW stops at depth 2');

    const internal = await change(a!, 'add', 'classification', 'INTERNAL');
    assert.equal(internal.reached, 1);
    assert.match(internal.notes.join('; '), /does not propagate/);
    assert.deepEqual(await values(a!), ['INTERNAL', 'PII', 'SHALLOW']);
    assert.deepEqual(await values(b!), ['PII', 'SHALLOW'], 'INTERNAL stays on its source');
  });

  it('takes back copies lineage no longer leads to when a value is given again', async () => {
    const n = namer();
    const [p, q, r] = ['p', 'q', 'r'].map(n);
    await lineage.upsertEdges(tenant, [edge(p!, q!), edge(q!, r!)]);
    await change(p!, 'add', 'owner', 'ana@example.com');
    assert.deepEqual(await values(q!, 'owner'), ['ana@example.com']);
    // The default policy carries owners one level only.
    assert.deepEqual(await values(r!, 'owner'), []);

    await change(p!, 'add', 'tag', 'sales');
    assert.deepEqual(await values(r!, 'tag'), ['sales']);
    await lineage.deleteEdges(tenant, [{ upstream: q!, downstream: r!, origin: 'manual' }]);
    const refreshed = await change(p!, 'add', 'tag', 'sales');
    assert.equal(refreshed.retracted, 1);
    assert.deepEqual(await values(r!, 'tag'), []);
    const events = await settleOutbound(refreshed.changeId, 1);
    assert.deepEqual(
      events.map((e) => [e.qualifiedName, e.change]),
      [[r, 'removed']],
    );
  });

  it('serializes conflicting changes on one asset in the order they were asked', async () => {
    const n = namer();
    const [s, t] = ['s', 't'].map(n);
    await lineage.upsertEdges(tenant, [edge(s!, t!)]);
    const ops: AnnotationChange['op'][] = ['add', 'remove', 'add', 'remove', 'add'];
    const ids = [];
    for (const op of ops) {
      const changeId = randomUUID();
      const request = { qualifiedName: s!, op, attribute: 'classification' as const, value: 'PII', actor: 'test' };
      ids.push((await requestAnnotation(temporal, config.temporal, tenant, request, changeId)).changeWorkflowId);
    }
    const outcomes = await Promise.all(ids.map((id) => changeOutcome(temporal, id, 120_000)));
    assert.deepEqual(
      outcomes.map((o) => o.op),
      ops,
    );
    assert.deepEqual(await values(t!), ['PII'], 'the last change (add) wins');
    const changes = outcomes.flatMap((o) => eventsFor(o.changeId).filter((e) => e.qualifiedName === t));
    assert.deepEqual(
      changes.map((e) => e.change),
      ['added', 'removed', 'added', 'removed', 'added'],
    );
  });

  it("stops a change at the policy's maxAssetsPerChange and says so", async () => {
    const n = namer();
    const hub = n('big-hub');
    const leaves = Array.from({ length: 300 }, (_, i) => n(`big-${i}`));
    await lineage.upsertEdges(
      tenant,
      leaves.map((leaf) => edge(hub, leaf)),
    );
    const defaults = loadDefaultPolicy();
    await saveTenantPolicy(postgres, tenant, {
      ...defaults,
      defaults: { ...defaults.defaults, maxAssetsPerChange: 100 },
    });
    try {
      const outcome = await change(hub, 'add', 'tag', 'huge');
      assert.equal(outcome.truncated, true);
      assert.equal(outcome.reached, 100);
      assert.match(outcome.notes.join('; '), /stopped after 100 assets: the policy's maxAssetsPerChange is 100/);
      assert.match(outcome.notes.join('; '), /not in the catalog \(yet\)/);
      let holding = 0;
      for (const leaf of leaves) if ((await values(leaf, 'tag')).includes('huge')) holding++;
      assert.equal(holding, 99, 'the source and 99 of its 300 downstream assets');
    } finally {
      await saveTenantPolicy(postgres, tenant, loadDefaultPolicy());
    }
  });

  it('walks a wide level in slices through child workflows, to an asset not ingested yet as well', async () => {
    const n = namer();
    const hub = n('hub');
    const wide = Array.from({ length: 12_000 }, (_, i) => n(`leaf-${String(i).padStart(5, '0')}`));
    await lineage.upsertEdges(
      tenant,
      wide.map((leaf) => edge(hub, leaf, { downstreamType: null })),
    );
    const outcome = await change(hub, 'add', 'classification', 'PII');
    assert.equal(outcome.reached, 12_001);
    assert.equal(outcome.published, 12_001);
    assert.deepEqual(await values(wide.at(-1)!), ['PII']);
    const slices = temporal.workflow.list({
      query: `WorkflowId STARTS_WITH "change/${tenant}/${outcome.changeId}/depth-1/slice-"`,
    });
    const ids: string[] = [];
    for await (const execution of slices) ids.push(execution.workflowId);
    assert.equal(ids.length, 3, '12,000 assets at one level make three slices of up to 5,000');
  });
});
