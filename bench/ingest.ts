import { Upload } from '@aws-sdk/lib-storage';
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { connectTemporal, createCassandra, createPostgres, createS3 } from '../lib/platform/clients.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { IngestOptions, type EstateAsset, type IngestInput, type IngestProgress } from '../lib/ingest/contracts.js';
import { estateSize, generateEstate, type EstateShape } from '../test/support/estateGenerator.js';
import { fingerprint, loadDefaultRules, mapRecord } from '../lib/mapping/index.js';
import { runSearchAttributes } from '../lib/temporal/searchAttributes.js';
import { saveConnection } from '../lib/stores/connections.js';
import { lakeWriter } from '../lib/stores/lake.js';
import { ingestWorkflowId } from '../lib/temporal/workflowIds.js';
import { spawnWorker, untilLogged } from '../test/support/processes.js';
import { costRow, cpuMs, median, telemetryModes, telemetryOptions, type TelemetryMode } from './support/telemetry.js';
import { follow } from '../starters/runs.js';
import { ingestEstate } from '../workflows/index.js';
import { runProgress } from '../control/ingestRuns.js';
import { columnsWrittenNow } from '../lib/ingest/columnJobs.js';

/**
 * Ingests synthetic estates (10% containers, 90% columns) end to end on the real stack, and in the same run writes
 * the same rows straight into Cassandra with cassandra-driver: the ceiling the pipeline is measured against.
 */

const program = new Command('bench:ingest')
  .option('--sizes <list>', 'estate sizes in assets, comma-separated', '100000,1000000')
  .option('--buckets <n>', 'buckets of the extract', '64')
  .option('--columns-per-job <n>', "columns a Spark job takes at most (the default: the product's)")
  .option('--buckets-per-job <n>', 'a fixed number of buckets per Spark job instead')
  .option('--jobs-per-wave <n>', 'Spark jobs side by side', '2')
  .option('--ceiling-concurrency <n>', 'concurrent statements of the plain Cassandra write', '128')
  .option('--telemetry <mode>', 'the worker traced and serving metrics: off, on, or both (compared)', 'off')
  .option('--repeat <n>', 'runs of each telemetry mode, alternating; the cost compares their medians', '1')
  .option('--columns-per-table <n>', 'columns of each table (0: containers only, no Spark job)', '9')
  .option('--json', 'print the figures as JSON instead of tables: one object a line, one per estate')
  .parse();
const flags = program.opts<{
  sizes: string;
  buckets: string;
  columnsPerJob?: string;
  bucketsPerJob?: string;
  jobsPerWave: string;
  ceilingConcurrency: string;
  telemetry: string;
  columnsPerTable: string;
  repeat: string;
  json?: boolean;
}>();
const modes = telemetryModes(flags.telemetry);
const repeat = Number(flags.repeat);
const sizes = flags.sizes.split(',').map(Number);
const options = IngestOptions.parse({
  buckets: Number(flags.buckets),
  ...(flags.columnsPerJob && { columnsPerJob: Number(flags.columnsPerJob) }),
  ...(flags.bucketsPerJob && { bucketsPerColumnsJob: Number(flags.bucketsPerJob) }),
  childrenPerWave: Number(flags.jobsPerWave),
});

const config = loadConfigOrExit({ ...process.env, METASYNC_TASK_QUEUE: `metasync-bench-${process.pid}` });
const s3 = createS3(config.s3);
const cassandra = createCassandra(config.cassandra);
const postgres = createPostgres(config.postgres);
const temporal = await connectTemporal(config.temporal);
const stamp = Date.now().toString(36);

/** About `assets` assets; with nine columns per table (the default), columns are 90% of the estate. */
function shapeOf(assets: number): EstateShape {
  const columnsPerTable = Number(flags.columnsPerTable);
  const tables = Math.max(1, Math.round(assets / (columnsPerTable + 1)));
  const tablesPerSchema = Math.min(1000, tables);
  const schemas = Math.ceil(tables / tablesPerSchema);
  const schemasPerDatabase = Math.min(50, schemas);
  return {
    databases: Math.ceil(schemas / schemasPerDatabase),
    schemasPerDatabase,
    tablesPerSchema,
    columnsPerTable,
  };
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const perSecond = (count: number, ms: number) => Math.round(count / (ms / 1000));
/** Progress; on stderr with --json, so stdout is the JSON alone. */
const say = (label: string, message: string) =>
  (flags.json ? console.error : console.log)(`[${new Date().toISOString().slice(11, 19)}] ${label}: ${message}`);

async function uploadDump(key: string, shape: EstateShape): Promise<void> {
  const lines = Readable.from(
    (function* () {
      for (const record of generateEstate(shape)) yield `${JSON.stringify(record)}\n`;
    })(),
  );
  const body = lines.pipe(createGzip());
  await new Upload({ client: s3, params: { Bucket: config.s3.bucket, Key: key, Body: body } }).done();
}

/** The worker's peak resident memory, from the kernel's high-water mark. */
function peakMemoryMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((row) => row.startsWith('VmHWM:'));
  return Math.round(Number(line?.replace(/\D/g, '') ?? 0) / 1024);
}

interface PipelineFigures {
  containersReadyMs: number;
  extractMs: number;
  containersMs: number;
  columnsMs: number;
  totalMs: number;
  workerPeakMb: number;
  /** CPU the worker process used for the whole run (Spark's JVMs are not in it), its start-up left out. */
  workerCpuMs: number;
  /** CPU the worker process used from the run's start until containers were ready (extract and container loads). */
  workerCpuReadyMs: number;
  /** The worker's start-up until it polls (its CPU: until after the warm-up run), paid once per process. */
  workerStartMs: number;
  workerStartCpuMs: number;
}

/** An estate of `shape` as the tenant's connection `bench`: its dump in S3, the connection in PostgreSQL. */
async function prepareEstate(tenant: string, shape: EstateShape): Promise<void> {
  const dumpKey = `tenants/${tenant}/dumps/estate.ndjson.gz`;
  await uploadDump(dumpKey, shape);
  await saveConnection(postgres, config.secretsKey, tenant, 'bench', {
    type: 'ndjson',
    uri: `s3://${config.s3.bucket}/${dumpKey}`,
  });
}

/** Twelve containers and no columns: a run that loads the worker's workflow code and connections, with no Spark job. */
const WARM_UP: EstateShape = { databases: 1, schemasPerDatabase: 1, tablesPerSchema: 10, columnsPerTable: 0 };

/** The first run of the tenant's connection `bench`, on the benchmark's task queue. */
const runOf = (tenant: string) => ({
  workflowId: ingestWorkflowId(tenant, 'bench', 'run-1'),
  taskQueue: config.temporal.taskQueue,
  args: [{ tenant, connectionId: 'bench', runId: 'run-1', options }] as [IngestInput],
  typedSearchAttributes: runSearchAttributes(tenant, 'ingest', 'bench'),
});

async function runPipeline(label: string, tenant: string, mode: TelemetryMode): Promise<PipelineFigures> {
  const name = `bench-worker-${tenant}`;
  const spawned = Date.now();
  const worker = spawnWorker(config, name, await telemetryOptions(mode));
  try {
    await untilLogged(worker, name, 'worker running');
    const workerStartMs = Date.now() - spawned;
    // A production worker is up and warm when a run arrives: the first run of a process pays for loading the workflow
    // code into its sandbox and for opening connections, so a small run goes first and the figures start after it.
    await prepareEstate(`${tenant}-warm-up`, WARM_UP);
    const warmUp = await temporal.workflow.execute(ingestEstate, runOf(`${tenant}-warm-up`));
    if (warmUp.phase !== 'completed') throw new Error(`the warm-up run ended ${warmUp.phase}`);
    const workerStartCpuMs = cpuMs(worker.pid);
    const started = Date.now();
    const handle = await temporal.workflow.start(ingestEstate, runOf(tenant));
    const phaseStarted = new Map<IngestProgress['phase'], number>();
    let cpuReady = NaN;
    let lastSaid = 0;
    const read = () => runProgress(temporal, handle.workflowId);
    const result = await follow<typeof ingestEstate, IngestProgress>(handle, read, (progress) => {
      if (!phaseStarted.has(progress.phase)) {
        phaseStarted.set(progress.phase, Date.now() - started);
        if (progress.phase === 'columns') cpuReady = cpuMs(worker.pid) - workerStartCpuMs;
        say(label, `${progress.phase} after ${seconds(Date.now() - started)} s`);
      }
      if (Date.now() - lastSaid > 15_000) {
        lastSaid = Date.now();
        const { containers, columns } = progress;
        const steps = (columns.running ?? []).map((job) => job.step ?? 'starting').join(', ');
        say(
          label,
          `containers ${containers.done}/${containers.total}, ` +
            `columns ${columnsWrittenNow(progress)}/${columns.total}${steps ? ` (${steps})` : ''}`,
        );
      }
    });
    const totalMs = Date.now() - started;
    if (result.phase !== 'completed') throw new Error(`the run ended ${result.phase}`);
    const extracting = phaseStarted.get('extracting') ?? 0;
    const containers = phaseStarted.get('containers') ?? extracting;
    // A run without columns has no columns phase: its containers are ready when it ends.
    const columns = phaseStarted.get('columns') ?? totalMs;
    const workerCpuMs = cpuMs(worker.pid) - workerStartCpuMs;
    return {
      extractMs: containers - extracting,
      containersMs: columns - containers,
      containersReadyMs: columns,
      columnsMs: totalMs - columns,
      totalMs,
      workerPeakMb: peakMemoryMb(worker.pid!),
      workerCpuMs,
      workerCpuReadyMs: phaseStarted.has('columns') ? cpuReady : workerCpuMs,
      workerStartMs,
      workerStartCpuMs,
    };
  } finally {
    worker.kill('SIGTERM');
    await worker;
  }
}

/** The same rows (assets and their by-parent listing), mapped beforehand, written with executeConcurrent. */
async function rawCeiling(tenant: string, shape: EstateShape): Promise<number> {
  const rules = loadDefaultRules();
  const writer = lakeWriter(cassandra, Number(flags.ceilingConcurrency));
  let writingMs = 0;
  let batch: { asset: EstateAsset; fingerprint: string }[] = [];
  const flush = async () => {
    const start = Date.now();
    await writer.upsertAssets(tenant, 'bench', 'ceiling', batch);
    writingMs += Date.now() - start;
    batch = [];
  };
  for (const record of generateEstate(shape)) {
    const mapped = mapRecord(record, { sourceType: 'ndjson', connectionId: 'bench' }, rules);
    if (mapped.ok) batch.push({ asset: mapped.asset, fingerprint: fingerprint(mapped.asset) });
    if (batch.length === 50_000) await flush();
  }
  await flush();
  return writingMs;
}

const rows: Record<string, string | number>[] = [];
/** The same figures for scripts (--json): one object per estate (and run), numbers as numbers. */
const estates: Record<string, string | number>[] = [];
const round2 = (value: number) => Math.round(value * 100) / 100;
const cost: Record<string, string | number>[] = [];
try {
  for (const requested of sizes) {
    const shape = shapeOf(requested);
    const size = estateSize(shape);
    const assets = size.containers + size.columns;
    const totals = new Map<TelemetryMode, PipelineFigures[]>(modes.map((mode) => [mode, []]));
    let ceiling = 0;
    // Off and on alternate, so a slow spell of the machine falls on both rather than on one.
    for (const [rep, mode] of Array.from({ length: repeat }, (_, rep) =>
      modes.map((mode) => [rep, mode] as const),
    ).flat()) {
      const label = `${assets} assets, telemetry ${mode}${repeat > 1 ? `, run ${rep + 1}/${repeat}` : ''}`;
      const tenant = `bench-${stamp}-${assets}-${mode}-${rep}`;

      say(label, `generating and uploading the dump (${size.containers} containers, ${size.columns} columns)`);
      await prepareEstate(tenant, shape);
      const pipeline = await runPipeline(label, tenant, mode);
      totals.get(mode)!.push(pipeline);
      if (ceiling === 0) {
        say(label, `pipeline done in ${seconds(pipeline.totalMs)} s; writing the same rows straight to Cassandra`);
        ceiling = perSecond(assets, await rawCeiling(`${tenant}-ceiling`, shape));
      }
      const columnsPerSecond = perSecond(size.columns, pipeline.columnsMs);
      const containersPerSecond = perSecond(size.containers, pipeline.containersMs);
      estates.push({
        assets,
        containers: size.containers,
        columns: size.columns,
        telemetry: mode,
        ...(repeat > 1 && { run: rep + 1 }),
        totalSeconds: pipeline.totalMs / 1_000,
        containersReadySeconds: pipeline.containersReadyMs / 1_000,
        readyShare: round2(pipeline.containersReadyMs / pipeline.totalMs),
        columnsSeconds: pipeline.columnsMs / 1_000,
        columnsPerSecond,
        containersPerSecond,
        ceilingRowsPerSecond: ceiling,
        columnsOverCeiling: round2(columnsPerSecond / ceiling),
        containersOverCeiling: round2(containersPerSecond / ceiling),
        workerPeakMb: pipeline.workerPeakMb,
      });
      rows.push({
        assets,
        telemetry: mode,
        ...(repeat > 1 && { run: rep + 1 }),
        'extract s': seconds(pipeline.extractMs),
        'containersReady s': seconds(pipeline.containersReadyMs),
        'ready % of run': `${Math.round((100 * pipeline.containersReadyMs) / pipeline.totalMs)}%`,
        'containers/s': containersPerSecond,
        'columns s': seconds(pipeline.columnsMs),
        'columns/s': columnsPerSecond,
        'total s': seconds(pipeline.totalMs),
        'end-to-end assets/s': perSecond(assets, pipeline.totalMs),
        'worker peak MB': pipeline.workerPeakMb,
        'worker CPU s': seconds(pipeline.workerCpuMs),
        'worker CPU to ready s': seconds(pipeline.workerCpuReadyMs),
        'worker start s': seconds(pipeline.workerStartMs),
        'worker start CPU s': seconds(pipeline.workerStartCpuMs),
        'ceiling rows/s': ceiling,
        'columns ÷ ceiling': (columnsPerSecond / ceiling).toFixed(2),
        'containers ÷ ceiling': (containersPerSecond / ceiling).toFixed(2),
      });
    }
    const off = totals.get('off') ?? [];
    const on = totals.get('on') ?? [];
    if (off.length && on.length) {
      const compare = (figure: string, of: (p: PipelineFigures) => number) => ({
        ...costRow(figure, median(off.map(of)), median(on.map(of))),
        assets,
      });
      cost.push(
        compare('containersReady ms', (p) => p.containersReadyMs),
        compare('total ms', (p) => p.totalMs),
        compare('worker CPU ms', (p) => p.workerCpuMs),
        compare('worker CPU to containers ready ms', (p) => p.workerCpuReadyMs),
        compare('worker start ms (once per process)', (p) => p.workerStartMs),
        compare('worker start CPU ms (once per process)', (p) => p.workerStartCpuMs),
      );
    }
  }
} finally {
  await temporal.connection.close();
  await cassandra.shutdown();
  await postgres.end();
  s3.destroy();
}

if (flags.json) {
  // JSON Lines: one object per estate, then the telemetry cost when both modes ran.
  for (const estate of estates) console.log(JSON.stringify({ ...estate, options }));
  if (cost.length > 0) console.log(JSON.stringify({ telemetryCost: cost, sampleRatio: config.traces.sampleRatio }));
} else {
  console.log(
    `\nestate ingestion, ${options.buckets} buckets, ` +
      (options.bucketsPerColumnsJob
        ? `${options.bucketsPerColumnsJob} buckets per Spark job, `
        : `up to ${options.columnsPerJob} columns per Spark job, `) +
      `${options.childrenPerWave} jobs at once; ceiling: the same rows written with executeConcurrent ` +
      `(${flags.ceilingConcurrency} at once, assets and assets_by_parent)`,
  );
  console.table(rows);
  if (cost.length > 0) {
    const of = repeat > 1 ? `, medians of ${repeat} runs each` : '';
    console.log(`telemetry on vs off (traces sampled at ${config.traces.sampleRatio}${of}; the goal: cost under 5%)`);
    console.table(cost);
  }
}
