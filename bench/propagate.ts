import { DefaultLogger, Runtime } from '@temporalio/worker';
import cassandraDriver from 'cassandra-driver';
import { Command } from 'commander';
import type { Consumer, Message, Producer } from 'kafkajs';
import pLimit from 'p-limit';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { changeOutcome, requestAnnotation } from '../control/annotate.js';
import {
  connectTemporal,
  createCassandra,
  createKafka,
  createPostgres,
  createProducer,
  createS3,
} from '../lib/platform/clients.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import type { LineageEdge } from '../lib/lineage/contracts.js';
import type { AnnotationChanged, ChangeOutcome } from '../lib/propagation/contracts.js';
import { ensureTopic } from '../lib/kafka/ensureTopic.js';
import { loadDefaultPolicy, saveTenantPolicy } from '../lib/propagation/policy.js';
import { saveConnection } from '../lib/stores/connections.js';
import { lineageStore } from '../lib/stores/lineage.js';
import { saveSubscription } from '../lib/stores/subscriptions.js';
import { saveTenant } from '../lib/stores/tenants.js';
import { outboundTopic } from '../lib/kafka/topics.js';
import { createActivityDependencies } from '../workers/dependencies.js';
import { createWorkers } from '../workers/createWorkers.js';
import { createSubscribers, subscriptionGroupId } from '../workers/subscriptions.js';
import { pinGroupToEnd } from '../test/support/harness.js';
import { asSuperuser, sourceAdmin, sourceLogin } from '../test/support/postgresCluster.js';
import { asService, kafkaAs } from '../test/support/kafka.js';
import { spawnWorker } from '../test/support/processes.js';
import {
  childRunId,
  cpuSeconds,
  meterIo,
  stackPids,
  walkHistory,
  type IoMeters,
  type Meter,
} from './support/probes.js';

/**
 * Propagation of one classification through lineage graphs of 10k and 100k downstream assets, in three shapes, on
 * the real stack: from the request to the last downstream asset holding it (Temporal, Cassandra), to the last
 * outbound event (Kafka), and to enforcement in a real downstream PostgreSQL for a sample of the last assets (the
 * postgres-enforcement subscription). Beside them, in the same run, the raw ceiling: the same number of rows written
 * straight to Cassandra with executeConcurrent, and of messages produced straight to Kafka.
 */

const Shape = z.enum(['wide', 'deep', 'tree']);
type Shape = z.infer<typeof Shape>;

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
// The bench looks and measures as Kafka's admin; the worker and the subscribers are their own principals.
const config = loadConfigOrExit(
  {
    ...process.env,
    METASYNC_TASK_QUEUE: `metasync-bench-${stamp}`,
    METASYNC_KAFKA_GROUP_PREFIX: `metasync-bench-${stamp}`,
    // The enforcement sample's downstream is the local stack's PostgreSQL, on loopback (a development setting).
    METASYNC_DESTINATIONS_ALLOW_LOOPBACK: 'true',
  },
  { METASYNC_KAFKA_USERNAME: 'metasync-admin' },
);
const kafka = createKafka(config.kafka, 'bench-propagate');
const producer = createProducer(kafka);
const cassandra = createCassandra(config.cassandra);
const postgres = createPostgres(config.postgres);
const s3 = createS3(config.s3);
const temporal = await connectTemporal(config.temporal);
const lineage = lineageStore(cassandra, 128);
await producer.connect();

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const perSecond = (count: number, ms: number) => Math.round(count / (ms / 1000));
const say = (label: string, message: string) =>
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${label}: ${message}`);
const pad = (i: number, width = 7) => String(i).padStart(width, '0');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// The graphs
// ---------------------------------------------------------------------------------------------------------------

interface Graph {
  source: string;
  edges: LineageEdge[];
  /** Every asset the value should reach, the source left out. */
  downstream: string[];
  /** The deepest level. */
  depth: number;
}

const edge = (upstream: string, downstream: string): LineageEdge => ({
  upstream,
  downstream,
  level: 'column',
  kind: 'openlineage',
  origin: 'openlineage:bench/propagate',
  propagates: true,
  transformation: null,
  downstreamType: 'column',
});

/**
 * `n` downstream assets, the last ones named after `sample` (the downstream table's columns, which sort after the
 * others, so a wide level's last slice holds them).
 * - wide: one source, n direct downstreams.
 * - deep: `chains` chains of n / chains each under the source.
 * - tree: fan-out by 10 over a few levels (up to n / 100 assets wide), a chain of 5 under each, and the rest of
 *   the assets as leaves spread over the chains' ends.
 */
function buildGraph(shape: Shape, n: number, sample: readonly string[]): Graph {
  const prefix = `bench://${shape}-${n}`;
  const source = `${prefix}/source`;
  const edges: LineageEdge[] = [];
  let depth = 0;
  if (shape === 'wide') {
    for (let i = 0; i < n; i++) edges.push(edge(source, `${prefix}/a${pad(i)}`));
    depth = 1;
  } else if (shape === 'deep') {
    const count = Math.min(chains, n);
    for (let c = 0; c < count; c++) {
      const length = Math.floor(n / count) + (c < n % count ? 1 : 0);
      let upstream = source;
      for (let h = 0; h < length; h++) {
        const downstream = `${prefix}/c${pad(c, 4)}/h${pad(h)}`;
        edges.push(edge(upstream, downstream));
        upstream = downstream;
      }
      depth = Math.max(depth, length);
    }
  } else {
    let level = [source];
    let placed = 0;
    for (let width = 10; width <= Math.max(10, n / 100); width *= 10) {
      const next: string[] = [];
      level.forEach((upstream, u) => {
        for (let k = 0; k < 10; k++) {
          const downstream = `${prefix}/f${depth + 1}/n${pad(u * 10 + k)}`;
          edges.push(edge(upstream, downstream));
          next.push(downstream);
        }
      });
      placed += next.length;
      level = next;
      depth++;
    }
    const chainLength = Math.max(0, Math.min(5, Math.floor((n - placed - sample.length) / level.length)));
    level = level.map((head, i) => {
      let upstream = head;
      for (let h = 0; h < chainLength; h++) {
        const downstream = `${prefix}/c${pad(i)}/h${pad(h, 2)}`;
        edges.push(edge(upstream, downstream));
        upstream = downstream;
      }
      return upstream;
    });
    placed += level.length * chainLength;
    depth += chainLength + 1;
    for (let i = 0; placed < n; i++, placed++) edges.push(edge(level[i % level.length]!, `${prefix}/l${pad(i)}`));
  }
  // The sample takes the place of the last chains' ends (deep) or of the last leaves (wide, tree).
  const ends = edges.flatMap((e, i) => (shape !== 'deep' || edges[i + 1]?.upstream !== e.downstream ? [i] : []));
  if (ends.length < sample.length) throw new Error(`a ${shape} graph of ${n} has fewer than ${sample.length} ends`);
  ends.slice(ends.length - sample.length).forEach((i, k) => (edges[i] = { ...edges[i]!, downstream: sample[k]! }));
  return { source, edges, downstream: edges.map((e) => e.downstream), depth };
}

// ---------------------------------------------------------------------------------------------------------------
// The worker, the downstream database, the ceiling
// ---------------------------------------------------------------------------------------------------------------

const stackProcesses = stackPids(root, ['cassandra', 'kafka', 'temporal']);

interface RunningWorker {
  pid: number;
  meters: IoMeters | null;
  stop(): Promise<void>;
}

async function startWorker(): Promise<RunningWorker> {
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

const downstreamDb = `metasync_bench_${stamp}`;
const analyst = `bench_analyst_${stamp}`;
const sampleColumns = Array.from({ length: sampleSize }, (_, i) => `c${pad(i, 2)}`);
let downstream: pg.Pool | undefined;

// The downstream belongs to the stack's source role, which the sink connects as (MetaSync's may not create databases).
const sources = sourceAdmin(config);

async function createDownstream(): Promise<void> {
  await sources.query(`CREATE DATABASE ${downstreamDb}`);
  downstream = new pg.Pool({ ...sourceLogin(config), database: downstreamDb, max: 2 });
  await asSuperuser(`CREATE ROLE ${analyst} LOGIN PASSWORD 'analyst'`);
}

/** A table whose columns are the sample, readable by the analyst until enforcement takes them away. */
async function createSampleTable(table: string): Promise<string[]> {
  await downstream!
    .query(`CREATE TABLE ${table} (id int PRIMARY KEY, ${sampleColumns.map((c) => `${c} text`).join(', ')});
    GRANT SELECT ON ${table} TO ${analyst}`);
  return sampleColumns.map((column) => `postgres://shop/${downstreamDb}/public/${table}/${column}`);
}

const INSERT_HELD = `INSERT INTO asset_annotations (tenant, qualified_name, attribute, value, source, path, depth,
  change_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, toTimestamp(now()))`;

/** `n` rows into asset_annotations, as propagation writes them, with executeConcurrent. */
async function cassandraCeiling(n: number): Promise<number> {
  const tenant = `pb-${stamp}-ceiling`;
  const source = `bench://ceiling-${n}/source`;
  const rows = Array.from({ length: n }, (_, i) => {
    const name = `bench://ceiling-${n}/a${pad(i)}`;
    return [tenant, name, 'classification', 'PII', source, [source, name], 1, 'ceiling'];
  });
  const started = performance.now();
  await cassandraDriver.concurrent.executeConcurrent(cassandra, INSERT_HELD, rows, {
    concurrencyLevel: ceilingConcurrency,
  });
  return performance.now() - started;
}

/** `n` outbound-sized events to a throwaway topic, 2,000 per send with acks from all replicas, as propagation sends. */
async function kafkaCeiling(n: number): Promise<number> {
  const topic = `bench.propagate-ceiling.${stamp}`;
  await ensureTopic(kafka, topic);
  const source = `bench://ceiling-${n}/source`;
  const messages: Message[] = Array.from({ length: n }, (_, i) => {
    const name = `bench://ceiling-${n}/a${pad(i)}`;
    const event: AnnotationChanged = {
      id: `ceiling-${i}`.padEnd(40, '0'),
      type: 'asset.annotation-changed',
      version: 1,
      tenant: `pb-${stamp}-ceiling`,
      source: 'metasync-propagation',
      occurredAt: new Date().toISOString(),
      payload: {
        qualifiedName: name,
        assetType: 'column',
        attribute: 'classification',
        value: 'PII',
        change: 'added',
        attribution: { source, path: [source, name], depth: 1 },
        sequence: Date.now() * 1000 + i,
        changeId: 'ceiling',
      },
    };
    return { key: name, value: JSON.stringify(event), headers: { tenant: event.tenant, 'event-id': event.id } };
  });
  const started = performance.now();
  for (let i = 0; i < messages.length; i += 2_000) {
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 2_000) });
  }
  return performance.now() - started;
}

// ---------------------------------------------------------------------------------------------------------------
// One measured change
// ---------------------------------------------------------------------------------------------------------------

/**
 * Counts what reaches a topic from now on, with the latest message timestamp (the producer's clock) and the
 * timestamps of the messages keyed by one of `watched`.
 */
async function countTopic(
  topic: string,
  groupId: string,
  watched: ReadonlySet<string>,
): Promise<{ count(): number; latest(): number; published: Map<string, number>; consumer: Consumer }> {
  await pinGroupToEnd(kafka, groupId, topic);
  const consumer = kafka.consumer({ groupId });
  let count = 0;
  let latest = 0;
  const published = new Map<string, number>();
  await consumer.connect();
  await consumer.subscribe({ topic });
  await consumer.run({
    eachBatch: ({ batch }) => {
      for (const message of batch.messages) {
        count++;
        latest = Math.max(latest, Number(message.timestamp));
        const key = message.key?.toString();
        if (key && watched.has(key)) published.set(key, Number(message.timestamp));
      }
      return Promise.resolve();
    },
  });
  return { count: () => count, latest: () => latest, published, consumer };
}

/** When each sample column stopped being readable by the analyst (epoch ms), checked every 100 ms. */
function watchEnforcement(table: string, giveUp: { at: number }) {
  const client = new pg.Client({
    host: '127.0.0.1',
    port: 5432,
    database: downstreamDb,
    user: analyst,
    password: 'analyst',
  });
  const denied = new Map<string, number>();
  const done = (async () => {
    await client.connect();
    try {
      const pending = new Set(sampleColumns);
      while (pending.size > 0 && Date.now() < giveUp.at) {
        for (const column of pending) {
          try {
            await client.query(`SELECT ${column} FROM ${table} LIMIT 0`);
          } catch (error) {
            if ((error as { code?: string }).code !== '42501') throw error;
            denied.set(column, Date.now());
            pending.delete(column);
          }
        }
        await sleep(100);
      }
    } finally {
      await client.end();
    }
    return denied;
  })();
  return done;
}

/** How many of the assets hold the source's value in Cassandra, and when the last of them was written. */
async function held(tenant: string, source: string, names: readonly string[]) {
  const limit = pLimit(32);
  let count = 0;
  let last = 0;
  const chunks: string[][] = [];
  for (let i = 0; i < names.length; i += 100) chunks.push(names.slice(i, i + 100));
  await Promise.all(
    chunks.map((chunk) =>
      limit(async () => {
        const result = await cassandra.execute(
          `SELECT updated_at FROM asset_annotations WHERE tenant = ? AND qualified_name IN ? AND attribute = ?
           AND value = ? AND source = ?`,
          [tenant, chunk, 'classification', 'PII', source],
          { prepare: true, fetchSize: 1_000 },
        );
        for (const row of result.rows) {
          count++;
          last = Math.max(last, (row.get('updated_at') as Date).getTime());
        }
      }),
    ),
  );
  return { count, last };
}

/**
 * Samples a consumer group's committed offsets every 200 ms from now on; `caughtUp` says when they first covered the
 * topic's end as it is once every event is in (epoch ms, to within a sample and the consumer's commit).
 */
function trackCommits(groupId: string, topic: string) {
  const samples: { at: number; committed: number }[] = [];
  let stopped = false;
  const admin = kafka.admin();
  const sampling = (async () => {
    await admin.connect();
    try {
      while (!stopped) {
        const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
        const committed = (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
        samples.push({ at: Date.now(), committed });
        await sleep(200);
      }
    } finally {
      await admin.disconnect();
    }
  })().catch((error: Error) => say('enforcement subscription offsets', error.message));
  return {
    async stop(): Promise<void> {
      stopped = true;
      await sampling;
    },
    async caughtUp(deadline: number): Promise<number | null> {
      const ends = kafka.admin();
      await ends.connect();
      const end = (await ends.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
      await ends.disconnect();
      while (Date.now() < deadline && !samples.some((sample) => sample.committed >= end)) await sleep(200);
      await this.stop();
      return samples.find((sample) => sample.committed >= end)?.at ?? null;
    },
  };
}

interface Measured {
  shape: Shape;
  assets: number;
  depth: number;
  outcome: ChangeOutcome;
  walkMs: number;
  heldCount: number;
  lastHeldMs: number;
  outboundCount: number;
  lastOutboundMs: number;
  /** Each sample column denied to the analyst, after the request. */
  enforcedMs: number[];
  /** Each sample column denied to the analyst, after its own outbound event was published. */
  enforceLagMs: number[];
  /** When the enforcement subscription had consumed every outbound event of the change, after the request. */
  subscriberMs: number | null;
  cpu: Record<string, number>;
  io: Record<string, { calls: number; items: number; busyMs: number }> | null;
  history: Awaited<ReturnType<typeof walkHistory>> | null;
}

async function measure(worker: RunningWorker, shape: Shape, n: number): Promise<Measured> {
  const label = `${shape} ${n}`;
  const tenant = `pb-${stamp}-${shape}-${n}`;
  const table = `${shape}_${n}`;
  await saveTenant(postgres, tenant, `bench:propagate ${label}`);
  const policy = loadDefaultPolicy();
  await saveTenantPolicy(postgres, tenant, { ...policy, defaults: { ...policy.defaults, maxDepth: 100_000 } });

  const sample = sampleSize > 0 ? await createSampleTable(table) : [];
  const graph = buildGraph(shape, n, sample);
  const writing = Date.now();
  for (let i = 0; i < graph.edges.length; i += 10_000) {
    await lineage.upsertEdges(tenant, graph.edges.slice(i, i + 10_000));
    const done = Math.min(graph.edges.length, i + 10_000);
    if (done === graph.edges.length || done % 50_000 === 0) say(label, `edges written ${done}/${graph.edges.length}`);
  }
  say(label, `${graph.edges.length} edges in ${seconds(Date.now() - writing)} s (not timed), depth ${graph.depth}`);

  const topic = outboundTopic(tenant);
  await ensureTopic(kafka, topic);
  const outbound = await countTopic(topic, `${config.kafka.groupPrefix}-outbound-${tenant}`, new Set(sample));
  let subscribers: ReturnType<typeof createSubscribers> | undefined;
  let subscribersProducer: Producer | undefined;
  if (sample.length) {
    await saveConnection(postgres, config.secretsKey, tenant, 'shop', {
      type: 'postgres',
      host: '127.0.0.1',
      port: 5432,
      database: downstreamDb,
      user: sourceLogin(config).user,
      password: sourceLogin(config).password,
      connectTimeoutSeconds: 5,
    });
    await saveSubscription(postgres, tenant, 'enforce', {
      sink: { type: 'postgres-enforcement', connectionId: 'shop', restrictedRoles: [analyst] },
    });
    const subscribersKafka = kafkaAs(config, 'subscribers');
    subscribersProducer = createProducer(subscribersKafka);
    await subscribersProducer.connect();
    subscribers = createSubscribers(
      {
        config: asService(config, 'subscribers'),
        kafka: subscribersKafka,
        producer: subscribersProducer,
        s3,
        postgres,
      },
      { tenant, pollMs: 1_000 },
    );
    await subscribers.start();
    if (!subscribers.running().includes(`${tenant}/enforce`))
      throw new Error('the enforcement subscription did not start');
    const readable = new pg.Client({
      host: '127.0.0.1',
      port: 5432,
      database: downstreamDb,
      user: analyst,
      password: 'analyst',
    });
    await readable.connect();
    await readable.query(`SELECT ${sampleColumns.join(', ')} FROM ${table}`); // throws if not readable to begin with
    await readable.end();
  }

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
    commits = sample.length
      ? trackCommits(subscriptionGroupId(config.kafka.groupPrefix, tenant, 'enforce'), topic)
      : undefined;
    const enforcement = sample.length ? watchEnforcement(table, giveUp) : Promise.resolve(new Map<string, number>());
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
    const denied = await enforcement;
    if (denied.size < sample.length)
      say(label, `only ${denied.size}/${sample.length} sample columns were enforced in time`);
    const { count: heldCount, last } = await held(tenant, graph.source, graph.downstream);
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
        .map(([column, at]) => at - (outbound.published.get(sample[sampleColumns.indexOf(column)]!) ?? NaN))
        .sort((a, b) => a - b),
      subscriberMs,
      cpu,
      io:
        ioBefore && ioAfter
          ? Object.fromEntries(
              Object.entries(ioAfter).map(([kind, after]) => {
                const before = ioBefore[kind]!;
                return [
                  kind,
                  {
                    calls: after.calls - before.calls,
                    items: after.items - before.items,
                    busyMs: after.busyMs - before.busyMs,
                  },
                ];
              }),
            )
          : null,
      history,
    };
  } finally {
    await commits?.stop();
    await subscribers?.stop();
    await subscribersProducer?.disconnect();
    await outbound.consumer.disconnect();
  }
}

const readMeters = (meters: IoMeters) =>
  Object.fromEntries(Object.entries(meters).map(([kind, meter]: [string, Meter]) => [kind, meter.read()]));

// ---------------------------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------------------------

const results: Measured[] = [];
const ceilings = new Map<number, { cassandraMs: number; kafkaMs: number }>();
const tenants: string[] = [];
let worker: RunningWorker | undefined;
try {
  if (sampleSize > 0) await createDownstream();
  worker = await startWorker();
  // A warm-up change: the first of anything pays for connections, workflow bundles and the outbound topic.
  const warm = `pb-${stamp}-warm-up`;
  tenants.push(warm);
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

  for (const n of sizes) {
    say(`ceiling ${n}`, `${n} rows straight to Cassandra, ${n} messages straight to Kafka`);
    const cassandraMs = await cassandraCeiling(n);
    const kafkaMs = await kafkaCeiling(n);
    ceilings.set(n, { cassandraMs, kafkaMs });
    say(`ceiling ${n}`, `Cassandra ${perSecond(n, cassandraMs)} rows/s, Kafka ${perSecond(n, kafkaMs)} messages/s`);
    for (const shape of shapes) {
      tenants.push(`pb-${stamp}-${shape}-${n}`);
      results.push(await measure(worker, shape, n));
    }
  }
} finally {
  await worker?.stop();
  await cleanUp();
}

async function cleanUp(): Promise<void> {
  // A subscription left behind would be picked up by any subscribers process, against a database that is gone.
  for (const table of [
    'subscriptions',
    'enforcement_restrictions',
    'enforcement_baselines',
    'connections',
    'propagation_policies',
  ]) {
    await postgres.query(`DELETE FROM ${table} WHERE tenant = ANY($1)`, [tenants]);
  }
  await downstream?.end();
  if (sampleSize > 0) {
    await sources.query(`DROP DATABASE IF EXISTS ${downstreamDb} WITH (FORCE)`);
    await asSuperuser(`DROP ROLE IF EXISTS ${analyst}`);
  }
  const admin = kafka.admin();
  await admin.connect();
  const groups = tenants.flatMap((t) => [
    subscriptionGroupId(config.kafka.groupPrefix, t, 'enforce'),
    `${config.kafka.groupPrefix}-outbound-${t}`,
  ]);
  await admin.deleteGroups(groups).catch(() => undefined);
  const existing = new Set(await admin.listTopics());
  const topics = [...tenants.map(outboundTopic), `bench.propagate-ceiling.${stamp}`].filter((t) => existing.has(t));
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
  await producer.disconnect();
  await temporal.connection.close();
  await cassandra.shutdown();
  await postgres.end();
  await sources.end();
  s3.destroy();
}

// ---------------------------------------------------------------------------------------------------------------
// The tables
// ---------------------------------------------------------------------------------------------------------------

const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
console.log(
  `\nannotation propagation: classification PII set on one source, ${sizes.join(' and ')} downstream assets; ` +
    `times from the request. Enforcement: the last ${sampleSize} downstream assets are columns of a real table, ` +
    `denied to a restricted role by the postgres-enforcement subscription, which reads every outbound event. ` +
    `Ceiling: the same number of rows written to asset_annotations with executeConcurrent ` +
    `(${ceilingConcurrency} at once), and of outbound-sized messages produced to Kafka (2,000 a send, acks=all)`,
);
console.table(
  results.map((r) => {
    const ceiling = ceilings.get(r.assets)!;
    const enforcedLast = r.enforcedMs.at(-1);
    return {
      shape: r.shape,
      assets: r.assets,
      depth: r.depth,
      'walk end s': seconds(r.walkMs),
      'walk assets/s': perSecond(r.assets, r.walkMs),
      'last held s': seconds(r.lastHeldMs),
      held: r.heldCount === r.assets ? 'all' : `${r.heldCount}/${r.assets}`,
      'last outbound s': seconds(r.lastOutboundMs),
      'outbound/s': perSecond(r.outboundCount, r.lastOutboundMs),
      [`sample of ${sampleSize} enforced s`]: enforcedLast === undefined ? '-' : seconds(enforcedLast),
      'enforced after its event ms': r.enforceLagMs.length
        ? `${at(r.enforceLagMs, 0.5)}–${r.enforceLagMs.at(-1)}`
        : '-',
      'subscriber read all s': r.subscriberMs === null ? '-' : seconds(r.subscriberMs),
      'subscriber assets/s': r.subscriberMs === null ? '-' : perSecond(r.outboundCount, r.subscriberMs),
      'ceiling Cassandra rows/s': perSecond(r.assets, ceiling.cassandraMs),
      'ceiling Kafka msgs/s': perSecond(r.assets, ceiling.kafkaMs),
      'walk ÷ Cassandra': (ceiling.cassandraMs / r.walkMs).toFixed(2),
      'outbound ÷ Kafka': (ceiling.kafkaMs / r.lastOutboundMs).toFixed(2),
    };
  }),
);

const ioLabels: Record<string, string> = {
  cassandraRead: 'Cassandra reads',
  cassandraWrite: 'Cassandra writes',
  kafkaSend: 'Kafka sends',
};
console.log(
  "\nwhere the walk goes: CPU seconds each process used from the request to the walk end, and the walk's tail after the last asset held the value" +
    (flags.profile ? ', and how long Cassandra reads, writes and Kafka sends were in flight (overlaps once)' : ''),
);
console.table(
  results.map((r) => ({
    run: `${r.shape} ${r.assets}`,
    'walk s': seconds(r.walkMs),
    ...Object.fromEntries(Object.entries(r.cpu).map(([name, cpu]) => [`${name} CPU s`, cpu.toFixed(1)])),
    'after last held s': seconds(r.walkMs - r.lastHeldMs),
    ...Object.fromEntries(
      Object.entries(r.io ?? {}).map(([kind, io]) => [
        `${ioLabels[kind] ?? kind} s (calls)`,
        `${seconds(io.busyMs)} (${io.calls})`,
      ]),
    ),
  })),
);

console.log("\nTemporal: the walk's activities (run: started to closed, summed; queued: scheduled to started)");
console.table(
  results.flatMap((r) => {
    if (!r.history) return [];
    const { workflows, workflowTasks, workflowTaskMs, activities } = r.history;
    return [
      {
        run: `${r.shape} ${r.assets}`,
        what: `${workflows} workflow runs, workflow tasks`,
        calls: workflowTasks,
        'run s': seconds(workflowTaskMs),
        'queued s': '',
      },
      ...[...activities].map(([type, t]) => ({
        run: `${r.shape} ${r.assets}`,
        what: type,
        calls: t.calls,
        'run s': seconds(t.runMs),
        'queued s': seconds(t.queuedMs),
      })),
    ];
  }),
);
