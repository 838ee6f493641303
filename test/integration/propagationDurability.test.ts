import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { changeOutcome, requestAnnotation } from '../../control/annotate.js';
import { type LineageEdge } from '../../lib/lineage/contracts.js';
import { AnnotationChanged } from '../../lib/propagation/contracts.js';
import { ensureTopic } from '../../lib/kafka/ensureTopic.js';
import { lineageStore } from '../../lib/stores/lineage.js';
import { saveTenant } from '../../lib/stores/tenants.js';
import { outboundTopic } from '../../lib/kafka/topics.js';
import { eventually, testConfig, uniqueId, uniqueTenant, type Tail } from '../support/harness.js';
import { spawnWorker } from '../support/processes.js';
import { openStack } from '../support/stack.js';

/** Two levels (hub → 200 → 100 each), so the walk is mid-way through many activities when the worker dies. */
const BRANCHES = 200;
const LEAVES_PER_BRANCH = 100;
const ASSETS = 1 + BRANCHES + BRANCHES * LEAVES_PER_BRANCH;

const config = testConfig({ METASYNC_TASK_QUEUE: uniqueId('metasync-propagation-kill') });
const tenant = uniqueTenant('propagation-kill');
const stack = openStack(config);
const { cassandra, postgres, temporal } = stack;

const copiesCount = async (source: string) => {
  const result = await cassandra.execute(
    'SELECT count(*) AS n FROM metasync.annotation_copies WHERE tenant = ? AND source = ? AND attribute = ? AND value = ?',
    [tenant, source, 'classification', 'PII'],
    { prepare: true },
  );
  return Number(result.first().get('n'));
};
/** Assets holding PII, and how many attributions each has, over the whole graph. */
const holdings = async (names: readonly string[]) => {
  const counts = new Map<string, number>();
  for (let i = 0; i < names.length; i += 100) {
    const result = await cassandra.execute(
      'SELECT qualified_name FROM metasync.asset_annotations WHERE tenant = ? AND qualified_name IN ? AND attribute = ? AND value = ?',
      [tenant, names.slice(i, i + 100), 'classification', 'PII'],
      { prepare: true, fetchSize: 10_000 },
    );
    for (const row of result.rows) {
      const name = row.get('qualified_name') as string;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  }
  return counts;
};

describe('propagation under failure', () => {
  let outbound: Tail;

  before(async () => {
    await saveTenant(postgres, tenant, 'Propagation durability test');
    stack.dropTopicsAtClose(tenant);
    await ensureTopic(stack.kafka, outboundTopic(tenant));
    outbound = await stack.tail(outboundTopic(tenant));
  });

  after(() => stack.close());

  it('a worker killed mid-walk and restarted gives every asset the value once, and every change is published', async () => {
    const name = (path: string) => `test://${tenant}/${path}`;
    const hub = name('hub');
    const edges: LineageEdge[] = [];
    const all = [hub];
    for (let b = 0; b < BRANCHES; b++) {
      const branch = name(`b${b}`);
      all.push(branch);
      edges.push({
        upstream: hub,
        downstream: branch,
        level: 'table',
        kind: 'manual',
        origin: 'manual',
        propagates: true,
        transformation: null,
        downstreamType: 'table',
      });
      for (let l = 0; l < LEAVES_PER_BRANCH; l++) {
        const leaf = name(`b${b}/l${l}`);
        all.push(leaf);
        edges.push({
          upstream: branch,
          downstream: leaf,
          level: 'table',
          kind: 'manual',
          origin: 'manual',
          propagates: true,
          transformation: null,
          downstreamType: 'table',
        });
      }
    }
    await lineageStore(cassandra).upsertEdges(tenant, edges);

    let worker = spawnWorker(config, `test-worker-${tenant}`);
    try {
      const change = {
        qualifiedName: hub,
        op: 'add' as const,
        attribute: 'classification' as const,
        value: 'PII',
        actor: 'test',
      };
      const { changeWorkflowId } = await requestAnnotation(temporal, config.temporal, tenant, change, randomUUID());
      await eventually(
        async () => ((await copiesCount(hub)) > BRANCHES + 1_000 ? true : undefined),
        120_000,
        'the walk past its first level',
      );
      const before = await copiesCount(hub);
      worker.kill('SIGKILL');
      await worker;
      assert.ok(before < ASSETS, `the worker died mid-walk (${before} of ${ASSETS} copies)`);
      worker = spawnWorker(config, `test-worker-${tenant}`);

      const outcome = await changeOutcome(temporal, changeWorkflowId, 300_000);
      assert.equal(await copiesCount(hub), ASSETS, 'one copy per asset');
      const held = await holdings(all);
      assert.equal(held.size, ASSETS, 'every asset holds the value');
      assert.ok(
        [...held.values()].every((n) => n === 1),
        'from one source, once',
      );
      assert.ok(outcome.published >= ASSETS - before, 'what the second attempt published');

      // Every asset's change is on the outbound topic; a retry may publish a copy again, with the same event id.
      const events = await eventually(
        () => {
          const parsed = outbound.messages.map((m) => AnnotationChanged.parse(JSON.parse(m.value!.toString())));
          const ids = new Set(parsed.map((e) => e.id));
          return ids.size >= ASSETS ? parsed : undefined;
        },
        60_000,
        `${ASSETS} distinct outbound events`,
      );
      const byAsset = new Map<string, Set<string>>();
      for (const e of events)
        byAsset.set(e.payload.qualifiedName, (byAsset.get(e.payload.qualifiedName) ?? new Set()).add(e.id));
      assert.equal(byAsset.size, ASSETS);
      assert.ok(
        [...byAsset.values()].every((ids) => ids.size === 1),
        'each asset: one distinct event',
      );
    } finally {
      worker.kill('SIGTERM');
      await worker;
    }
  });
});
