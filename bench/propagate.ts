import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { changeOutcome, requestAnnotation } from '../control/annotate.js';
import { ensureTopic } from '../lib/kafka/ensureTopic.js';
import { outboundTopic } from '../lib/kafka/topics.js';
import { openClients, type OpenedClients } from '../lib/platform/clients.js';
import type { Config } from '../lib/platform/config.js';
import { runProcess } from '../lib/platform/process.js';
import { loadDefaultPolicy, saveTenantPolicy } from '../lib/propagation/policy.js';
import { lineageStore } from '../lib/stores/lineage.js';
import { saveSubscription } from '../lib/stores/subscriptions.js';
import { saveTenant } from '../lib/stores/tenants.js';
import { createActivityDependencies } from '../workers/dependencies.js';
import { createWorkers } from '../workers/createWorkers.js';
import { createSubscribers, subscriptionGroupId } from '../workers/subscriptions.js';
import { asService } from '../test/support/kafka.js';
import { spawnWorker } from '../test/support/processes.js';
import { cassandraCeiling, kafkaCeiling, kafkaCeilingTopic } from './support/ceilings.js';
import { enforcementSample } from './support/enforcementSample.js';
import { perSecond, say, seconds, sleep } from './support/format.js';
import { buildGraph, edge, Shape } from './support/lineageGraphs.js';
import {
  childRunId,
  cpuSeconds,
  ioBetween,
  meterIo,
  readMeters,
  stackPids,
  walkHistory,
  type IoMeters,
} from './support/probes.js';
import { printPropagationTables, type Measured } from './support/propagationReport.js';
import { countTopic, held, trackCommits } from './support/watchers.js';

/**
 * Propagation of one classification through lineage graphs of 10k and 100k downstream assets, in three shapes, on
 * the real stack: from the request to the last downstream asset holding it (Temporal, Cassandra), to the last
 * outbound event (Kafka), and to enforcement in a real downstream PostgreSQL for a sample of the last assets (the
 * postgres-enforcement subscription). Beside them, in the same run, the raw ceiling: the same number of rows written
 * straight to Cassandra with executeConcurrent, and of messages produced straight to Kafka.
 */

const program = new Command('bench:propagate')
  .option('--sizes <list>', 'downstream assets per graph, comma-separated', '10000,100000')
  .option('--shapes <list>', `graph shapes, comma-separated: ${Shape.options.join(', ')}`, Shape.options.join(','))
  .option('--chains <n>', 'chains of the deep shape', '100')
  .option(
    '--sample <n>',
    'last downstream assets that are columns of a real downstream table (0: no enforcement)',
    '10',
  )
  .option('--ceiling-concurrency <n>', 'concurrent statements of the plain Cassandra write', '128')
  .option('--profile', 'run the worker in this process and time its Cassandra and Kafka calls', false)
  .parse();
const flags = program.opts<{
  sizes: string;
  shapes: string;
  chains: string;
  sample: string;
  ceilingConcurrency: string;
  profile: boolean;
}>();
const sizes = z.array(z.coerce.number().int().min(100)).parse(flags.sizes.split(','));
const shapes = z.array(Shape).parse(flags.shapes.split(','));
const chains = z.coerce.number().int().min(1).parse(flags.chains);
const sampleSize = z.coerce.number().int().min(0).max(100).parse(flags.sample);
const ceilingConcurrency = z.coerce.number().int().min(1).parse(flags.ceilingConcurrency);

const stamp = Date.now().toString(36);
const root = fileURLToPath(new URL('../', import.meta.url));
const BENCH_CLIENTS = {
  kafka: 'bench-propagate',
  producer: true,
  temporal: true,
  postgres: true,
  cassandra: true,
  s3: true,
} as const;
type Bench = OpenedClients<typeof BENCH_CLIENTS> & {
  config: Config;
  lineage: ReturnType<typeof lineageStore>;
  sample: ReturnType<typeof enforcementSample>;
};

// ---------------------------------------------------------------------------------------------------------------
// The worker
// ---------------------------------------------------------------------------------------------------------------

const stackProcesses = stackPids(root, ['cassandra', 'kafka', 'temporal']);

interface RunningWorker {
  pid: number;
  meters: IoMeters | null;
  stop(): Promise<void>;
}

async function startWorker(config: Config): Promise<RunningWorker> {
  if (!flags.profile) {
    const child = spawnWorker(config, `bench-propagate-worker-${stamp}`);
    return {
      pid: child.pid!,
      meters: null,
      async stop() {
        child.kill('SIGTERM');
        await child;
      },
    };
  }
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const deps = await createActivityDependencies(asService(config, 'worker'));
  const meters = meterIo(deps.cassandra, deps.producer);
  const workers = await createWorkers(deps);
  const running = Promise.all(workers.map((w) => w.run()));
  return {
    pid: process.pid,
    meters,
    async stop() {
      workers.forEach((w) => w.shutdown());
      await running;
      await deps.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// One measured change
// ---------------------------------------------------------------------------------------------------------------

/** The enforcement subscription of a tenant, run in this process as the subscribers' principal. */
async function startEnforcement(bench: Bench, tenant: string, table: string) {
  const { config, postgres, s3, sample } = bench;
  await sample.saveAsConnection(postgres, tenant, 'shop');
  await saveSubscription(postgres, tenant, 'enforce', {
    sink: { type: 'postgres-enforcement', connectionId: 'shop', restrictedRoles: [sample.analyst] },
  });
  const asSubscribers = asService(config, 'subscribers');
  const clients = await openClients(asSubscribers, { kafka: 'subscribers', producer: true });
  const subscribers = createSubscribers(
    { ...clients, config: asSubscribers, s3, postgres },
    { tenants: [tenant], pollMs: 1_000 },
  );
  const stop = async () => {
    await subscribers.stop();
    await clients.close();
  };
  try {
    await subscribers.start();
    if (!subscribers.running().includes(`${tenant}/enforce`)) {
      throw new Error('the enforcement subscription did not start');
    }
    await sample.assertReadable(table); // throws if not readable to begin with
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}

async function measure(bench: Bench, worker: RunningWorker, shape: Shape, n: number): Promise<Measured> {
  const { config, kafka, postgres, temporal, lineage, sample } = bench;
  const label = `${shape} ${n}`;
  const tenant = `pb-${stamp}-${shape}-${n}`;
  const table = `${shape}_${n}`;
  await saveTenant(postgres, tenant, `bench:propagate ${label}`);
  const policy = loadDefaultPolicy();
  await saveTenantPolicy(postgres, tenant, { ...policy, defaults: { ...policy.defaults, maxDepth: 100_000 } });

  const sampled = sampleSize > 0 ? await sample.createTable(table) : [];
  const graph = buildGraph(shape, n, sampled, chains);
  const writing = Date.now();
  for (let i = 0; i < graph.edges.length; i += 10_000) {
    await lineage.upsertEdges(tenant, graph.edges.slice(i, i + 10_000));
    const done = Math.min(graph.edges.length, i + 10_000);
    if (done === graph.edges.length || done % 50_000 === 0) say(label, `edges written ${done}/${graph.edges.length}`);
  }
  say(label, `${graph.edges.length} edges in ${seconds(Date.now() - writing)} s (not timed), depth ${graph.depth}`);

  const topic = outboundTopic(tenant);
  await ensureTopic(kafka, topic);
  const outbound = await countTopic(kafka, topic, `${config.kafka.groupPrefix}-outbound-${tenant}`, new Set(sampled));
  const enforcement = sampled.length ? await startEnforcement(bench, tenant, table) : undefined;

  let commits: ReturnType<typeof trackCommits> | undefined;
  try {
    // Profiled, the worker runs in this process: its CPU is the bench's too (the subscriber, the outbound count).
    const pids = new Map([[worker.meters ? 'worker+bench' : 'worker', worker.pid], ...stackProcesses]);
    const cpuBefore = new Map([...pids].map(([name, pid]) => [name, cpuSeconds(pid)]));
    const benchBefore = cpuSeconds(process.pid);
    const ioBefore = worker.meters && readMeters(worker.meters);
    say(label, `annotating the source with classification PII`);
    const giveUp = { at: Number.POSITIVE_INFINITY };
    const requested = Date.now();
    const ids = await requestAnnotation(
      temporal,
      config.temporal,
      tenant,
      { qualifiedName: graph.source, op: 'add', attribute: 'classification', value: 'PII', actor: 'bench:propagate' },
      `bench-${shape}-${n}`,
    );
    commits = sampled.length
      ? trackCommits(kafka, subscriptionGroupId(config.kafka.groupPrefix, tenant, 'enforce'), topic)
      : undefined;
    const denials = sampled.length ? sample.watch(table, giveUp) : Promise.resolve(new Map<string, number>());
    const outcome = await changeOutcome(temporal, ids.changeWorkflowId, 60 * 60_000);
    const walkMs = Date.now() - requested;
    const cpu: Record<string, number> = {};
    for (const [name, pid] of pids) cpu[name] = cpuSeconds(pid) - cpuBefore.get(name)!;
    if (!worker.meters) cpu.bench = cpuSeconds(process.pid) - benchBefore;
    const ioAfter = worker.meters && readMeters(worker.meters);
    say(
      label,
      `walk ended after ${seconds(walkMs)} s: reached ${outcome.reached}, published ${outcome.published}, depth ${outcome.depth}${outcome.notes.length ? ` (${outcome.notes.join('; ')})` : ''}`,
    );

    const deadline = Date.now() + 5 * 60_000;
    while (outbound.count() < outcome.published && Date.now() < deadline) await sleep(200);
    giveUp.at = Date.now() + 5 * 60_000;
    const subscribed = await commits?.caughtUp(giveUp.at);
    const subscriberMs = subscribed ? subscribed - requested : null;
    const denied = await denials;
    if (denied.size < sampled.length)
      say(label, `only ${denied.size}/${sampled.length} sample columns were enforced in time`);
    const { count: heldCount, last } = await held(bench.cassandra, tenant, graph.source, graph.downstream);
    if (heldCount !== n) say(label, `Cassandra has ${heldCount} of ${n} downstream assets holding PII`);
    const runId = await childRunId(temporal, ids.propagationWorkflowId, ids.changeWorkflowId);
    const history = runId ? await walkHistory(temporal, { workflowId: ids.changeWorkflowId, runId }) : null;
    return {
      shape,
      assets: n,
      depth: graph.depth,
      outcome,
      walkMs,
      heldCount,
      lastHeldMs: last - requested,
      outboundCount: outbound.count(),
      lastOutboundMs: outbound.latest() - requested,
      enforcedMs: [...denied.values()].map((at) => at - requested).sort((a, b) => a - b),
      enforceLagMs: [...denied]
        .map(([column, at]) => at - (outbound.published.get(sampled[sample.columns.indexOf(column)]!) ?? NaN))
        .sort((a, b) => a - b),
      subscriberMs,
      cpu,
      io: ioBefore && ioAfter ? ioBetween(ioBefore, ioAfter) : null,
      history,
    };
  } finally {
    await commits?.stop();
    await enforcement?.stop();
    await outbound.consumer.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------------------------

/** A warm-up change: the first of anything pays for connections, workflow bundles and the outbound topic. */
async function warmUp(bench: Bench, warm: string): Promise<void> {
  const { postgres, temporal, config, lineage } = bench;
  await saveTenant(postgres, warm, 'bench:propagate warm-up');
  await lineage.upsertEdges(warm, [
    edge('bench://warm/source', 'bench://warm/a'),
    edge('bench://warm/a', 'bench://warm/b'),
  ]);
  say('warm-up', `waiting for the worker${flags.profile ? ' (in this process, profiled)' : ''}`);
  const warmIds = await requestAnnotation(
    temporal,
    config.temporal,
    warm,
    { qualifiedName: 'bench://warm/source', op: 'add', attribute: 'classification', value: 'PII', actor: 'bench' },
    'warm-up',
  );
  await changeOutcome(temporal, warmIds.changeWorkflowId, 5 * 60_000);
}

/** Leaves nothing behind: a subscription left would be picked up by any subscribers process, against a database that is gone. */
async function cleanUp(bench: Bench, tenants: string[]): Promise<void> {
  const { postgres, kafka, config, sample } = bench;
  for (const table of [
    'subscriptions',
    'enforcement_restrictions',
    'enforcement_baselines',
    'connections',
    'propagation_policies',
  ]) {
    await postgres.query(`DELETE FROM ${table} WHERE tenant = ANY($1)`, [tenants]);
  }
  await sample.drop();
  const admin = kafka.admin();
  await admin.connect();
  const groups = tenants.flatMap((t) => [
    subscriptionGroupId(config.kafka.groupPrefix, t, 'enforce'),
    `${config.kafka.groupPrefix}-outbound-${t}`,
  ]);
  await admin.deleteGroups(groups).catch(() => undefined);
  const existing = new Set(await admin.listTopics());
  const topics = [...tenants.map(outboundTopic), kafkaCeilingTopic(stamp)].filter((t) => existing.has(t));
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}

// The bench looks and measures as Kafka's admin; the worker and the subscribers are their own principals.
await runProcess(
  {
    name: 'bench-propagate',
    env: {
      ...process.env,
      METASYNC_TASK_QUEUE: `metasync-bench-${stamp}`,
      METASYNC_KAFKA_GROUP_PREFIX: `metasync-bench-${stamp}`,
      // The enforcement sample's downstream is the local stack's PostgreSQL, on loopback (a development setting).
      METASYNC_DESTINATIONS_ALLOW_LOOPBACK: 'true',
    },
    defaults: { METASYNC_KAFKA_USERNAME: 'metasync-admin' },
    clients: BENCH_CLIENTS,
  },
  async (clients) => {
    const bench: Bench = {
      ...clients,
      lineage: lineageStore(clients.cassandra, 128),
      sample: enforcementSample(clients.config, stamp, sampleSize),
    };
    const results: Measured[] = [];
    const ceilings = new Map<number, { cassandraMs: number; kafkaMs: number }>();
    const tenants: string[] = [];
    let worker: RunningWorker | undefined;
    try {
      if (sampleSize > 0) await bench.sample.create();
      worker = await startWorker(bench.config);
      const warm = `pb-${stamp}-warm-up`;
      tenants.push(warm);
      await warmUp(bench, warm);
      for (const n of sizes) {
        say(`ceiling ${n}`, `${n} rows straight to Cassandra, ${n} messages straight to Kafka`);
        const cassandraMs = await cassandraCeiling(bench.cassandra, stamp, n, ceilingConcurrency);
        const kafkaMs = await kafkaCeiling(bench.kafka, bench.producer, stamp, n);
        ceilings.set(n, { cassandraMs, kafkaMs });
        say(`ceiling ${n}`, `Cassandra ${perSecond(n, cassandraMs)} rows/s, Kafka ${perSecond(n, kafkaMs)} messages/s`);
        for (const shape of shapes) {
          tenants.push(`pb-${stamp}-${shape}-${n}`);
          results.push(await measure(bench, worker, shape, n));
        }
      }
    } finally {
      await worker?.stop();
      await cleanUp(bench, tenants);
    }
    printPropagationTables({ results, ceilings, sizes, sampleSize, ceilingConcurrency, profile: flags.profile });
  },
);
