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
import { incidentPartitionWorkflowId } from '../lib/temporal/workflowIds.js';
import type { IncidentEvent } from '../lib/incidents/contracts.js';
import { incidentMessage } from '../lib/kafka/topics.js';
import { incidentStore } from '../lib/stores/incidents.js';
import { eventually } from '../test/support/harness.js';
import { incidentEvent, produceIncidentEvents, tenantWithMonteCarlo } from '../test/support/incidents.js';
import { spawnApp, spawnWorker } from '../test/support/processes.js';
import {
  hopTable,
  latencySummary,
  percentile,
  takenAt,
  updateMarks,
  type HopMarks,
  type UpdateMark,
} from './support/hops.js';
import { readFileSync } from 'node:fs';
import { cpuOf, cpuPer, stackPids } from './support/stackCpu.js';
import { costRow, telemetryModes, telemetryOptions, type TelemetryMode } from './support/telemetry.js';

/**
 * Incident latency: from the moment an event is produced to Kafka to the moment its incident is written on its
 * asset in Cassandra (the row's write time), through the bridge, Temporal and the incident's partition workflow.
 * Beside it, in the same run, the ceiling: a plain Kafka consumer of the same messages, produce to receive.
 *
 * With --updates the measured events update incidents opened (unmeasured) before; with --burst N, N events queue while
 * the bridge is down and the run prints how fast they drain and the bridge's memory meanwhile, then measures new events.
 */

const program = new Command('bench:incidents')
  .option('--incidents <n>', 'measured events: one new incident each (one per table), or one update each', '')
  .option('--rate <n>', 'events produced per second', '10')
  .option('--seconds <n>', 'how long to produce at the rate, unless --incidents says how many', '60')
  .option('--updates', 'the measured events update incidents opened before the measured window')
  .option('--burst <n>', 'events queued while the bridge is down, drained before the measured window', '0')
  .option('--telemetry <mode>', 'the bridge and worker traced and serving metrics: off, on, or both (compared)', 'off')
  .option('--json', 'print the figures as one JSON object instead of tables')
  .parse();
const flags = program.opts<{
  incidents: string;
  rate: string;
  seconds: string;
  updates?: boolean;
  burst: string;
  telemetry: string;
  json?: boolean;
}>();
const rate = Number(flags.rate);
const count = flags.incidents ? Number(flags.incidents) : Number(flags.seconds) * rate;
const burst = Number(flags.burst);
/** A burst updates this many incidents, each with its share of the burst's events, so each one's count can be checked. */
const BURST_INCIDENTS = 200;
const modes = telemetryModes(flags.telemetry);
const report = (line: string) => (flags.json ? process.stderr.write(`${line}\n`) : console.log(line));

const stamp = Date.now().toString(36);
// The bench produces and looks as Kafka's admin.
const config = loadConfigOrExit(process.env, { METASYNC_KAFKA_USERNAME: 'metasync-admin' });
const kafka = createKafka(config.kafka, 'bench-incidents');
const producer = createProducer(kafka);
const cassandra = createCassandra(config.cassandra);
const incidents = incidentStore(cassandra);
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
  const bridgeOptions = await telemetryOptions(mode);
  const startBridge = () => spawnApp('workers/bridge.ts', runConfig, `bench-bridge-${tenant}`, bridgeOptions);
  let bridge = startBridge();
  const produced = new Map<string, { at: number; partition: number; offset: number }>();
  try {
    // A warm-up incident: the first of anything pays for connections and workflow code loading.
    await produceIncidentEvents(producer, [incidentEvent(tenant, 'warm-up', 0)]);
    await waitForWrite(tenant, 'warm-up', 'orders', 120_000);
    const drain = burst > 0 ? await drainBurst() : undefined;
    const measured = Array.from({ length: count }, (_, i) =>
      flags.updates
        ? incidentEvent(tenant, `incident-${i}`, 1, { owner: `updated-${i}@example.com` }, tables[i])
        : incidentEvent(tenant, `incident-${i}`, 0, {}, tables[i]),
    );
    if (flags.updates) {
      report(`opening the ${count} incidents the measured events update`);
      await produceAll(measured.map((_, i) => incidentEvent(tenant, `incident-${i}`, 0, {}, tables[i])));
      for (let i = 0; i < count; i++) await waitForWrite(tenant, `incident-${i}`, tables[i]!, 120_000);
    }
    // Every process the event passes through, the stack's services too: where the box's two cores go.
    const pids = { bridge: bridge.pid, worker: worker.pid, ...stackPids() };
    const cpuBefore = cpuOf(pids);
    const steadyMemory = watchMemory(bridge.pid!);
    report(`telemetry ${mode}: producing ${count} ${flags.updates ? 'updates' : 'new incidents'} at ${rate}/s`);
    const started = Date.now();
    const sends: Promise<void>[] = [];
    for (const [i, event] of measured.entries()) {
      const due = started + (i * 1000) / rate;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const at = Date.now();
      // Not awaited one by one: the rate holds however long each acknowledgement takes.
      sends.push(
        producer.send({ topic: incidentsTopic, acks: -1, messages: [incidentMessage(event)] }).then(
          ([sent]) =>
            void produced.set(event.payload.incidentId, {
              at,
              partition: sent!.partition,
              offset: Number(sent!.baseOffset),
            }),
        ),
      );
    }
    await Promise.all(sends);
    const producedFor = Math.round((Date.now() - started) / 1000);
    const latencies: number[] = [];
    const ceiling: number[] = [];
    const written = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const id = `incident-${i}`;
      const owner = flags.updates ? `updated-${i}@example.com` : undefined;
      written.set(id, await waitForWrite(tenant, id, tables[i]!, 120_000, owner));
      latencies.push(written.get(id)! - produced.get(id)!.at);
      ceiling.push(received.get(`${tenant}/${id}`)! - produced.get(id)!.at);
      if (i % 1000 === 999) report(`  ${i + 1}/${count} events on their assets`);
    }
    const cpuAfter = cpuOf(pids);
    if (drain) drain.bridgeRssMb.steadyPeak = steadyMemory.stop();
    else steadyMemory.stop();
    const cpuPerIncident = (cpuAfter.worker! + cpuAfter.bridge! - cpuBefore.worker! - cpuBefore.bridge!) / count;
    const cpuByProcess = cpuPer(cpuBefore, cpuAfter, count);
    // Per hop, from the partition workflows' histories, every run of them (read after the measured window).
    const marks = await partitionMarks(tenant, runConfig.kafka.tenantPartitions);
    const hops: HopMarks[] = [];
    for (const [id, { at, partition, offset }] of produced) {
      const taskStarted = takenAt(marks, partition, offset);
      const kafkaReceived = received.get(`${tenant}/${id}`);
      if (taskStarted && kafkaReceived)
        hops.push({ produced: at, kafkaReceived, taskStarted, written: written.get(id)! });
    }
    return { latencies, ceiling, cpuPerIncident, cpuByProcess, hops, producedFor, drain };
  } finally {
    worker.kill('SIGTERM');
    bridge.kill('SIGTERM');
    await Promise.all([worker, bridge]);
    await consumer.disconnect();
  }

  /** Events queued while the bridge is down, then drained: how fast, all of them once, and the bridge's memory. */
  async function drainBurst(): Promise<Drain> {
    bridge.kill('SIGTERM');
    await bridge.catch(() => undefined);
    const perIncident = Math.ceil(burst / BURST_INCIDENTS);
    report(
      `burst: queueing ${perIncident * BURST_INCIDENTS} events (${BURST_INCIDENTS} incidents) with the bridge down`,
    );
    const events = Array.from({ length: perIncident }, (_, n) =>
      Array.from({ length: BURST_INCIDENTS }, (_, i) => incidentEvent(tenant, `burst-${i}`, n)),
    ).flat();
    await produceAll(events);
    const restarted = Date.now();
    bridge = startBridge();
    const memory = watchMemory(bridge.pid!);
    const last = `burst-${BURST_INCIDENTS - 1}`;
    for (let i = 0; i < BURST_INCIDENTS; i++) {
      const record = await eventuallyRecord(tenant, `burst-${i}`, perIncident, 600_000);
      if (record.eventsApplied !== perIncident)
        throw new Error(`burst-${i}: ${record.eventsApplied} events applied, ${perIncident} produced`);
      if (record.owner !== `owner-${perIncident - 1}@example.com`)
        throw new Error(`burst-${i}: its last event is not the last applied`);
    }
    const drainPeak = memory.stop();
    const firstWritten = await waitForWrite(tenant, 'burst-0', 'orders', 1_000);
    const lastWritten = await waitForWrite(tenant, last, 'orders', 1_000);
    const seconds = (Math.max(lastWritten, firstWritten) - restarted) / 1000;
    report(`burst: ${events.length} events drained in ${seconds.toFixed(1)} s, each applied once and in order`);
    return {
      events: events.length,
      drainSeconds: Number(seconds.toFixed(1)),
      drainPerSecond: Math.round(events.length / seconds),
      bridgeRssMb: { drainPeak, steadyPeak: 0 },
    };
  }
}

/** Produces events in bulk (500 a request), as a backlog arrives: as fast as Kafka takes them. */
async function produceAll(events: IncidentEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 500) await produceIncidentEvents(producer, events.slice(i, i + 500));
}

/** Samples a process's resident memory every 100 ms; stop() gives the peak, in MB. */
function watchMemory(pid: number) {
  let peak = rssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 100);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** A process's resident memory, in MB (0 once it is gone). */
function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** The incident once it counts `events` applied (or more: then the caller reports the duplicate). */
function eventuallyRecord(tenant: string, incidentId: string, events: number, timeoutMs: number) {
  return eventually(
    async () => {
      const record = await incidents.get(tenant, incidentId);
      return record && record.eventsApplied >= events ? record : undefined;
    },
    timeoutMs,
    `${events} events of ${incidentId} applied`,
  );
}

/** Every update of every run of the tenant's partition workflows. */
async function partitionMarks(tenant: string, partitions: number): Promise<UpdateMark[]> {
  const marks: UpdateMark[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const workflowId = incidentPartitionWorkflowId(tenant, partition);
    for await (const run of temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      // Page by page, 10 events each: each update carries its events (up to 512 KiB), so a larger page can pass the
      // client's 4 MB message limit.
      const events = [];
      let nextPageToken: Uint8Array | undefined;
      do {
        const page = await temporal.workflowService.getWorkflowExecutionHistory({
          namespace: config.temporal.namespace,
          execution: { workflowId, runId: run.runId },
          maximumPageSize: 10,
          ...(nextPageToken && { nextPageToken }),
        });
        events.push(...(page.history?.events ?? []));
        nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
      } while (nextPageToken);
      marks.push(...updateMarks(events));
    }
  }
  return marks;
}

interface Drain {
  events: number;
  drainSeconds: number;
  drainPerSecond: number;
  /** The bridge's peak resident memory while it drained the burst, and then while it took events at the rate. */
  bridgeRssMb: { drainPeak: number; steadyPeak: number };
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
  /** Seconds the measured events took to produce (the rate held if it is count / rate). */
  producedFor: number;
  drain: Drain | undefined;
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
    ...latencySummary('MetaSync: Kafka → bridge → Temporal → Cassandra', run.latencies),
    'bridge+worker CPU ms per incident': run.cpuPerIncident.toFixed(1),
  },
  { telemetry: mode, ...latencySummary('ceiling: plain Kafka produce → consume', run.ceiling) },
]);
const off = runs.get('off');
const on = runs.get('on');
const cost =
  off && on
    ? [
        costRow('p50 ms', latencySummary('', off.latencies)['p50 ms'], latencySummary('', on.latencies)['p50 ms']),
        costRow('p95 ms', latencySummary('', off.latencies)['p95 ms'], latencySummary('', on.latencies)['p95 ms']),
        costRow('mean ms', mean(off.latencies), mean(on.latencies)),
        costRow('bridge+worker CPU ms per incident', off.cpuPerIncident, on.cpuPerIncident),
      ]
    : [];
if (flags.json) {
  // The headline figures are the first run's (the untraced one with --telemetry both); every run's are in `runs`.
  const [first] = runs.values();
  const headline = first && {
    producedForSeconds: first.producedFor,
    p50Ms: percentile(first.latencies, 0.5),
    p99Ms: percentile(first.latencies, 0.99),
    kafkaP99Ms: percentile(first.ceiling, 0.99),
    hops: hopTable(first.hops),
    cpuMsPerIncident: first.cpuByProcess,
    ...(first.drain && { drainPerSecond: first.drain.drainPerSecond, burst: first.drain }),
  };
  const perRun = [...runs].map(([mode, run]) => ({
    telemetry: mode,
    hops: hopTable(run.hops),
    cpuMsPerIncident: run.cpuByProcess,
  }));
  console.log(
    JSON.stringify({
      events: count,
      kind: flags.updates ? 'updates' : 'new incidents',
      rate,
      ...headline,
      sampleRatio: config.traces.sampleRatio,
      runs: figures,
      perRun,
      cost,
    }),
  );
} else {
  for (const [mode, run] of runs) {
    if (!run.drain) continue;
    const { events, drainSeconds, drainPerSecond, bridgeRssMb } = run.drain;
    console.log(`\nburst (telemetry ${mode}): ${events} events queued while the bridge was down`);
    console.table([
      {
        events,
        'drained in s': drainSeconds,
        'drain per s': drainPerSecond,
        'bridge RSS MB peak, draining': bridgeRssMb.drainPeak,
        'bridge RSS MB peak, then at the rate': bridgeRssMb.steadyPeak,
      },
    ]);
  }
  console.log(
    `\nincident events produced to Kafka → incident on its asset in Cassandra (${count} ${flags.updates ? 'updates' : 'new incidents'}, ${rate}/s)`,
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

/** When the incident's row on its asset was written (Cassandra's write time), in epoch ms; with `owner`, that owner's. */
async function waitForWrite(
  tenant: string,
  incidentId: string,
  table: string,
  timeoutMs: number,
  owner?: string,
): Promise<number> {
  const name = qualifiedNameFor(
    { database: 'analytics', schema: 'prod', table },
    { sourceType: 'ndjson', connectionId: 'warehouse' },
    rules,
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await cassandra.execute(
      'SELECT owner, WRITETIME(status) AS written FROM asset_incidents WHERE tenant = ? AND qualified_name = ? AND incident_id = ?',
      [tenant, name, incidentId],
      { prepare: true },
    );
    const row = result.first();
    const written = row?.get('written') as { toNumber(): number } | undefined;
    if (written && (owner === undefined || row?.get('owner') === owner)) return Math.round(written.toNumber() / 1000);
    if (Date.now() > deadline) throw new Error(`incident ${incidentId} did not reach ${name} in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
