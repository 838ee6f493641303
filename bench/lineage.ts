import { Command } from 'commander';
import { createCassandra, createKafka, createPostgres, createProducer } from '../lib/platform/clients.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { SourceConnection } from '../lib/extractors/index.js';
import type { OpenLineageReceived } from '../lib/lineage/contracts.js';
import { inboundTopic, lineageKey, openLineageMessage } from '../lib/kafka/topics.js';
import { saveConnection } from '../lib/stores/connections.js';
import { saveTenant } from '../lib/stores/tenants.js';
import { eventually } from '../test/support/harness.js';
import { tenantTopics } from '../test/support/kafka.js';
import { spawnApp } from '../test/support/processes.js';
import { latencySummary } from './support/hops.js';
import { cpuOf, cpuPer, stackPids } from './support/stackCpu.js';

/**
 * OpenLineage latency: from the moment a run event is produced to the tenant's lineage topic to the moment its edge
 * is readable in the lake (the row's write time), through the lineage bridge. Beside it, in the same run, the
 * ceiling: a plain Kafka consumer of the same messages, produce to receive.
 */

const program = new Command('bench:lineage')
  .option('--rate <n>', 'run events produced per second', '200')
  .option('--seconds <n>', 'how long to produce at the rate', '60')
  .option('--json', 'print the figures as one JSON object instead of tables')
  .parse();
const flags = program.opts<{ rate: string; seconds: string; json?: boolean }>();
const rate = Number(flags.rate);
const count = Number(flags.seconds) * rate;
const report = (line: string) => (flags.json ? process.stderr.write(`${line}\n`) : console.log(line));

const stamp = Date.now().toString(36);
const tenant = `bench-lineage-${stamp}`;
// The bench produces and looks as Kafka's admin.
const config = loadConfigOrExit(
  {
    ...process.env,
    METASYNC_KAFKA_GROUP_PREFIX: `metasync-bench-${stamp}`,
    METASYNC_BRIDGE_TENANTS: tenant,
  },
  { METASYNC_KAFKA_USERNAME: 'metasync-admin' },
);
const kafka = createKafka(config.kafka, 'bench-lineage');
const producer = createProducer(kafka);
const cassandra = createCassandra(config.cassandra);
const postgres = createPostgres(config.postgres);
await producer.connect();

/** The i-th run event: a job that reads one table and writes another, both of the tenant's `warehouse`. */
const runEvent = (i: number): OpenLineageReceived => ({
  id: `${stamp}-${i}`,
  type: 'lineage.openlineage',
  version: 1,
  tenant,
  source: 'bench',
  occurredAt: new Date().toISOString(),
  payload: {
    eventTime: new Date().toISOString(),
    producer: 'https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/spark',
    schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
    eventType: 'COMPLETE',
    run: { runId: crypto.randomUUID() },
    job: { namespace: 'bench', name: `job_${i}` },
    inputs: [{ namespace: 'postgres://db.example.com:5432', name: `sales.public.source_${i}` }],
    outputs: [{ namespace: 'postgres://db.example.com:5432', name: `sales.analytics.target_${i}` }],
  },
});
const target = (i: number) => `postgres://warehouse/sales/analytics/target_${i}`;

await saveTenant(postgres, tenant);
await tenantTopics(config, tenant);
const source = SourceConnection.parse({
  type: 'postgres',
  host: 'db.example.com',
  database: 'sales',
  user: 'etl',
  password: 'not-used',
});
await saveConnection(postgres, config.secretsKey, tenant, 'warehouse', source);

const topic = inboundTopic(tenant, 'lineage');
const received = new Map<string, number>();
const consumer = kafka.consumer({ groupId: `${config.kafka.groupPrefix}-ceiling` });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  eachMessage: ({ message }) => Promise.resolve(void received.set(message.key?.toString() ?? '', Date.now())),
});
const bridge = spawnApp('workers/bridge.ts', config, `bench-bridge-${tenant}`);
let figures: ReturnType<typeof latencySummary>[];
let cpuByProcess: Record<string, number>;
try {
  // A warm-up event: the first of anything pays for connections.
  await producer.send({ topic, acks: -1, messages: [openLineageMessage(runEvent(-1))] });
  await waitForEdge(target(-1), 120_000);
  const pids = { bridge: bridge.pid, ...stackPids() };
  const cpuBefore = cpuOf(pids);
  report(`producing ${count} OpenLineage run events at ${rate}/s`);
  const produced: number[] = [];
  const sends: Promise<unknown>[] = [];
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / rate;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    produced.push(Date.now());
    // Not awaited one by one: the rate holds however long each acknowledgement takes.
    sends.push(producer.send({ topic, acks: -1, messages: [openLineageMessage(runEvent(i))] }));
  }
  await Promise.all(sends);
  const latencies: number[] = [];
  const ceiling: number[] = [];
  for (let i = 0; i < count; i++) {
    latencies.push((await waitForEdge(target(i), 120_000)) - produced[i]!);
    ceiling.push(received.get(lineageKey(tenant, { namespace: 'bench', name: `job_${i}` }))! - produced[i]!);
    if (i % 2000 === 1999) report(`  ${i + 1}/${count} edges readable`);
  }
  cpuByProcess = cpuPer(cpuBefore, cpuOf(pids), count);
  figures = [
    latencySummary('MetaSync: Kafka → lineage bridge → Cassandra', latencies),
    latencySummary('ceiling: plain Kafka produce → consume', ceiling),
  ];
} finally {
  bridge.kill('SIGTERM');
  await bridge.catch(() => undefined);
  await consumer.disconnect();
  await producer.disconnect();
  await cassandra.shutdown();
  await postgres.end();
}

if (flags.json) {
  const [metasync, kafkaCeiling] = figures;
  console.log(
    JSON.stringify({
      events: count,
      rate,
      p50Ms: metasync!['p50 ms'],
      p99Ms: metasync!['p99 ms'],
      kafkaP99Ms: kafkaCeiling!['p99 ms'],
      cpuMsPerEvent: cpuByProcess,
      runs: figures,
    }),
  );
} else {
  console.log(`\nOpenLineage run events produced to Kafka → edge readable in Cassandra (${count} events, ${rate}/s)`);
  console.table(figures);
  console.log('CPU ms per event, by process (the stack’s services too: they share the same cores)');
  console.table([cpuByProcess]);
}

/** When the edge into `downstream` was written (Cassandra's write time), in epoch ms. */
function waitForEdge(downstream: string, timeoutMs: number): Promise<number> {
  return eventually(
    async () => {
      const result = await cassandra.execute(
        'SELECT WRITETIME(kind) AS written FROM lineage_upstream WHERE tenant = ? AND downstream = ?',
        [tenant, downstream],
        { prepare: true },
      );
      const written = result.first()?.get('written') as { toNumber(): number } | undefined;
      return written && Math.round(written.toNumber() / 1000);
    },
    timeoutMs,
    `an edge into ${downstream}`,
  );
}
