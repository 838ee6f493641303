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
import { incidentWorkflowId } from '../lib/temporal/workflowIds.js';
import { incidentEvent, produceIncidentEvents, tenantWithMonteCarlo } from '../test/support/incidents.js';
import { spawnApp, spawnWorker } from '../test/support/processes.js';
import { hopTable, percentile, temporalMarks, type HopMarks } from './support/hops.js';
import { cpuOf, cpuPer, stackPids } from './support/stackCpu.js';
import { costRow, telemetryModes, telemetryOptions, type TelemetryMode } from './support/telemetry.js';

/**
 * Incident latency: from the moment an event is produced to Kafka to the moment its incident is written on its
 * asset in Cassandra (the row's write time), through the bridge, Temporal and the incident workflow. Beside it, in
 * the same run, the ceiling: a plain Kafka consumer of the same messages, produce to receive.
 */

const program = new Command('bench:incidents')
  .option('--incidents <n>', 'incidents opened, one per table', '500')
  .option('--rate <n>', 'events produced per second', '10')
  .option('--telemetry <mode>', 'the bridge and worker traced and serving metrics: off, on, or both (compared)', 'off')
  .option('--json', 'print the figures as one JSON object instead of tables')
  .parse();
const flags = program.opts<{ incidents: string; rate: string; telemetry: string; json?: boolean }>();
const count = Number(flags.incidents);
const rate = Number(flags.rate);
const modes = telemetryModes(flags.telemetry);
const report = (line: string) => (flags.json ? process.stderr.write(`${line}\n`) : console.log(line));

const stamp = Date.now().toString(36);
// The bench produces and looks as Kafka's admin.
const config = loadConfigOrExit(process.env, { METASYNC_KAFKA_USERNAME: 'metasync-admin' });
const kafka = createKafka(config.kafka, 'bench-incidents');
const producer = createProducer(kafka);
const cassandra = createCassandra(config.cassandra);
const postgres = createPostgres(config.postgres);
const temporal = await connectTemporal(config.temporal);
const rules = loadDefaultRules();
const tables = Array.from({ length: count }, (_, i) => `table_${i}`);
await producer.connect();

/**
 * One measured run: its own tenant, task queue and consumer groups; the bridge and the worker it starts are their own
 * principals and serve this run's tenant only (its topics are new, so they read them from the start).
 */
async function runOnce(mode: TelemetryMode): Promise<Run> {
  const tenant = `bench-incidents-${stamp}-${mode}`;
  const runConfig = loadConfigOrExit(
    {
      ...process.env,
      METASYNC_TASK_QUEUE: `metasync-bench-${stamp}-${mode}`,
      METASYNC_KAFKA_GROUP_PREFIX: `metasync-bench-${stamp}-${mode}`,
      METASYNC_BRIDGE_TENANTS: tenant,
    },
    { METASYNC_KAFKA_USERNAME: 'metasync-admin' },
  );
  const incidentsTopic = inboundTopic(tenant, 'incidents');
  await tenantWithMonteCarlo(runConfig, postgres, tenant);

  // The ceiling's consumer reads the very messages the bridge reads.
  const received = new Map<string, number>();
  const consumer = kafka.consumer({ groupId: `${runConfig.kafka.groupPrefix}-ceiling` });
  await consumer.connect();
  await consumer.subscribe({ topic: incidentsTopic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => Promise.resolve(void received.set(message.key?.toString() ?? '', Date.now())),
  });

  // Each process its own options: traced alike, but each serving its metrics on a port of its own.
  const worker = spawnWorker(runConfig, `bench-worker-${tenant}`, await telemetryOptions(mode));
  const bridge = spawnApp('workers/bridge.ts', runConfig, `bench-bridge-${tenant}`, await telemetryOptions(mode));
  const produced = new Map<string, number>();
  try {
    // A warm-up incident: the first of anything pays for connections and workflow code loading.
    await produceIncidentEvents(producer, [incidentEvent(tenant, 'warm-up', 0)]);
    await waitForWrite(tenant, 'warm-up', 'orders', 120_000);
    // Every process the event passes through, the stack's services too: where the box's two cores go.
    const pids = { bridge: bridge.pid, worker: worker.pid, ...stackPids() };
    const cpuBefore = cpuOf(pids);
    report(`telemetry ${mode}: producing ${count} incidents at ${rate}/s`);
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
    const written = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const id = `incident-${i}`;
      written.set(id, await waitForWrite(tenant, id, tables[i]!, 120_000));
      latencies.push(written.get(id)! - produced.get(id)!);
      ceiling.push(received.get(`${tenant}/${id}`)! - produced.get(id)!);
      if (i % 100 === 99) report(`  ${i + 1}/${count} incidents on their assets`);
    }
    const cpuAfter = cpuOf(pids);
    const cpuPerIncident = (cpuAfter.worker! + cpuAfter.bridge! - cpuBefore.worker! - cpuBefore.bridge!) / count;
    const cpuByProcess = cpuPer(cpuBefore, cpuAfter, count);
    // Per hop, from the workflows' histories (read after the measured window, so the reading costs it nothing).
    const hops: HopMarks[] = [];
    for (const [id, producedAt] of produced) {
      const history = await temporal.workflow.getHandle(incidentWorkflowId(tenant, id)).fetchHistory();
      const marks = temporalMarks(history.events ?? []);
      const kafkaReceived = received.get(`${tenant}/${id}`);
      if (marks && kafkaReceived)
        hops.push({ produced: producedAt, kafkaReceived, ...marks, written: written.get(id)! });
    }
    return { latencies, ceiling, cpuPerIncident, cpuByProcess, hops };
  } finally {
    worker.kill('SIGTERM');
    bridge.kill('SIGTERM');
    await Promise.all([worker, bridge]);
    await consumer.disconnect();
  }
}

interface Run {
  latencies: number[];
  ceiling: number[];
  /** CPU ms the bridge and the worker spent per incident (after the warm-up). */
  cpuPerIncident: number;
  /** CPU ms per incident of each process it passes through, the stack's services included (stackCpu.ts). */
  cpuByProcess: Record<string, number>;
  /** Each incident's marks along the way (hops.ts). */
  hops: HopMarks[];
}
const runs = new Map<TelemetryMode, Run>();
try {
  for (const mode of modes) runs.set(mode, await runOnce(mode));
} finally {
  await producer.disconnect();
  await cassandra.shutdown();
  await postgres.end();
  await temporal.connection.close();
}

const figures = [...runs].flatMap(([mode, run]) => [
  {
    telemetry: mode,
    ...summary('MetaSync: Kafka → bridge → Temporal → Cassandra', run.latencies),
    'bridge+worker CPU ms per incident': run.cpuPerIncident.toFixed(1),
  },
  { telemetry: mode, ...summary('ceiling: plain Kafka produce → consume', run.ceiling) },
]);
const off = runs.get('off');
const on = runs.get('on');
const cost =
  off && on
    ? [
        costRow('p50 ms', summary('', off.latencies)['p50 ms'], summary('', on.latencies)['p50 ms']),
        costRow('p95 ms', summary('', off.latencies)['p95 ms'], summary('', on.latencies)['p95 ms']),
        costRow('mean ms', mean(off.latencies), mean(on.latencies)),
        costRow('bridge+worker CPU ms per incident', off.cpuPerIncident, on.cpuPerIncident),
      ]
    : [];
if (flags.json) {
  // The headline figures are the first run's (the untraced one with --telemetry both); every run's are in `runs`.
  const [first] = runs.values();
  const headline = first && {
    p50Ms: percentile(first.latencies, 0.5),
    p99Ms: percentile(first.latencies, 0.99),
    kafkaP99Ms: percentile(first.ceiling, 0.99),
    hops: hopTable(first.hops),
    cpuMsPerIncident: first.cpuByProcess,
  };
  const perRun = [...runs].map(([mode, run]) => ({
    telemetry: mode,
    hops: hopTable(run.hops),
    cpuMsPerIncident: run.cpuByProcess,
  }));
  console.log(
    JSON.stringify({
      incidents: count,
      rate,
      ...headline,
      sampleRatio: config.traces.sampleRatio,
      runs: figures,
      perRun,
      cost,
    }),
  );
} else {
  console.log(
    `\nincident events produced to Kafka → incident on its asset in Cassandra (${count} incidents, ${rate}/s)`,
  );
  console.table(figures);
  for (const [mode, run] of runs) {
    console.log(
      `where the time went, per hop (telemetry ${mode}; from Temporal's histories and Cassandra's write times)`,
    );
    console.table(hopTable(run.hops));
  }
  console.log('CPU ms per incident, by process (the stack’s services too: they share the same cores)');
  console.table([...runs].map(([mode, run]) => ({ telemetry: mode, ...run.cpuByProcess })));
  if (cost.length > 0) {
    console.log(`telemetry on vs off (traces sampled at ${config.traces.sampleRatio}; the goal: cost under 5%)`);
    console.table(cost);
  }
}

function mean(values: number[]): number {
  return Math.round(values.reduce((sum, value) => sum + value, 0) / values.length);
}

/** When the incident's row on its asset was written (Cassandra's write time), in epoch ms. */
async function waitForWrite(tenant: string, incidentId: string, table: string, timeoutMs: number): Promise<number> {
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
  return {
    path,
    'p50 ms': percentile(values, 0.5),
    'p95 ms': percentile(values, 0.95),
    'p99 ms': percentile(values, 0.99),
    'max ms': sorted.at(-1),
    'under 1 s': `${Math.round((100 * sorted.filter((ms) => ms < 1000).length) / sorted.length)}%`,
  };
}
