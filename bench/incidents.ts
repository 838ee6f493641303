import { Command } from 'commander';
import {
  connectTemporal,
  createCassandra,
  createKafka,
  createPostgres,
  createProducer,
} from '../lib/platform/clients.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { loadDefaultRules } from '../lib/mapping/index.js';
import { qualifiedNameFor } from '../lib/incidents/monteCarlo/index.js';
import { inboundTopic } from '../lib/kafka/topics.js';
import { incidentEvent, produceIncidentEvents, tenantWithMonteCarlo } from '../test/support/incidents.js';
import { spawnApp, spawnWorker } from '../test/support/processes.js';

/**
 * Incident latency: from the moment an event is produced to Kafka to the moment its incident is written on its
 * asset in Cassandra (the row's write time), through the bridge, Temporal and the incident workflow. Beside it, in
 * the same run, the ceiling: a plain Kafka consumer of the same messages, produce to receive.
 */

const program = new Command('bench:incidents')
  .option('--incidents <n>', 'incidents opened, one per table', '500')
  .option('--rate <n>', 'events produced per second', '10')
  .parse();
const flags = program.opts<{ incidents: string; rate: string }>();
const count = Number(flags.incidents);
const rate = Number(flags.rate);

const stamp = Date.now().toString(36);
const tenant = `bench-incidents-${stamp}`;
// The bench produces and looks as Kafka's admin; the bridge and the worker it starts are their own principals and
// serve this run's tenant only (its topics are new, so they read them from the start).
const config = loadConfigOrExit(
  {
    ...process.env,
    METASYNC_TASK_QUEUE: `metasync-bench-${stamp}`,
    METASYNC_KAFKA_GROUP_PREFIX: `metasync-bench-${stamp}`,
    METASYNC_BRIDGE_TENANTS: tenant,
  },
  { METASYNC_KAFKA_USERNAME: 'metasync-admin' },
);
const incidentsTopic = inboundTopic(tenant, 'incidents');
const kafka = createKafka(config.kafka, 'bench-incidents');
const producer = createProducer(kafka);
const cassandra = createCassandra(config.cassandra);
const postgres = createPostgres(config.postgres);
const temporal = await connectTemporal(config.temporal);
await producer.connect();
await tenantWithMonteCarlo(config, postgres, tenant);

// The ceiling's consumer reads the very messages the bridge reads.
const received = new Map<string, number>();
const ceilingGroup = `${config.kafka.groupPrefix}-ceiling`;
const consumer = kafka.consumer({ groupId: ceilingGroup });
await consumer.connect();
await consumer.subscribe({ topic: incidentsTopic, fromBeginning: true });
await consumer.run({
  eachMessage: ({ message }) => Promise.resolve(void received.set(message.key?.toString() ?? '', Date.now())),
});

const worker = spawnWorker(config, `bench-worker-${tenant}`);
const bridge = spawnApp('workers/bridge.ts', config, `bench-bridge-${tenant}`);
const rules = loadDefaultRules();
const tables = Array.from({ length: count }, (_, i) => `table_${i}`);
const produced = new Map<string, number>();
try {
  // A warm-up incident: the first of anything pays for connections and workflow code loading.
  await produceIncidentEvents(producer, [incidentEvent(tenant, 'warm-up', 0)]);
  await waitForWrite('warm-up', 'orders', 120_000);
  console.log(`producing ${count} incidents at ${rate}/s`);
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    const event = incidentEvent(tenant, `incident-${i}`, 0, {}, tables[i]);
    const due = started + (i * 1000) / rate;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    produced.set(event.payload.incidentId, Date.now());
    await produceIncidentEvents(producer, [event]);
  }
  const latencies: number[] = [];
  const ceiling: number[] = [];
  for (let i = 0; i < count; i++) {
    const id = `incident-${i}`;
    latencies.push((await waitForWrite(id, tables[i]!, 120_000)) - produced.get(id)!);
    ceiling.push(received.get(`${tenant}/${id}`)! - produced.get(id)!);
    if (i % 100 === 99) console.log(`  ${i + 1}/${count} incidents on their assets`);
  }
  console.log(
    `\nincident events produced to Kafka → incident on its asset in Cassandra (${count} incidents, ${rate}/s)`,
  );
  console.table([
    summary('MetaSync: Kafka → bridge → Temporal → Cassandra', latencies),
    summary('ceiling: plain Kafka produce → consume', ceiling),
  ]);
} finally {
  worker.kill('SIGTERM');
  bridge.kill('SIGTERM');
  await Promise.all([worker, bridge]);
  await consumer.disconnect();
  await producer.disconnect();
  await temporal.connection.close();
  await cassandra.shutdown();
  await postgres.end();
}

/** When the incident's row on its asset was written (Cassandra's write time), in epoch ms. */
async function waitForWrite(incidentId: string, table: string, timeoutMs: number): Promise<number> {
  const name = qualifiedNameFor(
    { database: 'analytics', schema: 'prod', table },
    { sourceType: 'ndjson', connectionId: 'warehouse' },
    rules,
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await cassandra.execute(
      'SELECT WRITETIME(status) AS written FROM asset_incidents WHERE tenant = ? AND qualified_name = ? AND incident_id = ?',
      [tenant, name, incidentId],
      { prepare: true },
    );
    const written = result.first()?.get('written') as { toNumber(): number } | undefined;
    if (written) return Math.round(written.toNumber() / 1000);
    if (Date.now() > deadline) throw new Error(`incident ${incidentId} did not reach ${name} in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function summary(path: string, values: number[]) {
  const sorted = values.toSorted((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return {
    path,
    'p50 ms': at(0.5),
    'p95 ms': at(0.95),
    'p99 ms': at(0.99),
    'max ms': sorted.at(-1),
    'under 1 s': `${Math.round((100 * sorted.filter((ms) => ms < 1000).length) / sorted.length)}%`,
  };
}
