import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { userInfo } from 'node:os';
import { connectTemporal, createPostgres } from '../lib/platform/clients.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { IngestInput } from '../lib/ingest/contracts.js';
import { rootCause } from '../lib/temporal/failures.js';
import { IngestRunError, runProgress, startIngestRun } from '../control/ingestRuns.js';
import { errorMessage, SourceConnection } from '../lib/extractors/index.js';
import { saveConnection } from '../lib/stores/connections.js';
import type { IngestProgress } from '../lib/ingest/contracts.js';
import { columnsWrittenNow } from '../lib/ingest/columnJobs.js';
import { RateMeter } from '../lib/platform/rateMeter.js';
import type { ingestEstate } from '../workflows/index.js';
import { announce, follow } from './runs.js';
import { PASSWORD_FILE_HELP, SOURCE_OPTION_HELP, sourceFromOptions } from './sourceOption.js';

const program = new Command('ingest')
  .description('Ingests a connection: containers first, then columns through Spark. Shows progress until done.')
  .requiredOption('--tenant <id>', 'tenant')
  .requiredOption('--connection <id>', 'connection id (lowercase letters, digits, - or _)')
  .option('--source <uri>', `register or update the connection first: ${SOURCE_OPTION_HELP}`)
  .option('--password-file <path>', PASSWORD_FILE_HELP)
  .option(
    '--run-id <id>',
    'run id; the same id again follows that run instead of starting another (default: a new one)',
  )
  .option('--buckets <n>', 'buckets the extract is split into (keep it the same for a connection)', '64')
  .option('--columns-per-job <n>', 'columns a Spark job takes at most (jobs follow the size of the extract)')
  .option('--buckets-per-job <n>', 'a fixed number of buckets per Spark job instead')
  .parse();
const options = program.opts<{
  tenant: string;
  connection: string;
  source?: string;
  passwordFile?: string;
  runId?: string;
  buckets: string;
  columnsPerJob?: string;
  bucketsPerJob?: string;
}>();

// Checked before --source is saved under these names; startIngestRun checks the whole request again.
const parsed = IngestInput.partial({ runId: true }).safeParse({
  tenant: options.tenant,
  connectionId: options.connection,
  runId: options.runId,
  options: {
    buckets: Number(options.buckets),
    ...(options.columnsPerJob && { columnsPerJob: Number(options.columnsPerJob) }),
    ...(options.bucketsPerJob && { bucketsPerColumnsJob: Number(options.bucketsPerJob) }),
  },
  requestedBy: `cli:${process.env.USER ?? process.env.LOGNAME ?? loginName()}`,
});
const input = parsed.success
  ? parsed.data
  : program.error(
      `invalid options:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`,
    );

const config = loadConfigOrExit();
const postgres = createPostgres(config.postgres);
if (options.source) {
  const given = await sourceFromOptions(options.source, options.passwordFile).catch((error: unknown) =>
    program.error(`invalid --source: ${errorMessage(error)}`),
  );
  const parsedSource = SourceConnection.safeParse(given);
  const source = parsedSource.success
    ? parsedSource.data
    : program.error(
        `invalid --source: ${parsedSource.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
  await saveConnection(postgres, config.secretsKey, input.tenant, input.connectionId, source);
}

const temporal = await connectTemporal(config.temporal);
const run = await startIngestRun(temporal, postgres, config, input).catch((error: unknown) => {
  if (error instanceof IngestRunError) program.error(error.message);
  throw error;
});
await postgres.end();
if (run.alreadyStarted) console.log(`run ${run.runId} already exists; following it`);
announce(config.temporal, run.workflowId);

const bars = new cliProgress.MultiBar(
  {
    format: ' {label} [{bar}] {value}/{total} {extra}',
    hideCursor: true,
    clearOnComplete: false,
    noTTYOutput: true,
    notTTYSchedule: 5000,
  },
  cliProgress.Presets.shades_classic,
);
const containers = bars.create(1, 0, { label: 'containers', extra: '' });
const columns = bars.create(1, 0, { label: 'columns   ', extra: '' });
const handle = temporal.workflow.getHandle<typeof ingestEstate>(run.workflowId);
const columnsRate = new RateMeter();
const show = (progress: IngestProgress) => {
  containers.setTotal(Math.max(1, progress.containers.total));
  containers.update(progress.containers.done, { extra: progress.containersReady ? 'ready' : progress.phase });
  columns.setTotal(Math.max(1, progress.columns.total));
  const written = columnsWrittenNow(progress);
  columns.update(written, { extra: progress.phase === 'columns' ? columnsActivity(progress, written) : '' });
};
try {
  const summary = await follow(handle, () => runProgress(temporal, run.workflowId), show);
  show(summary);
  bars.stop();
  console.log(`\n${summary.phase}: containers ${summary.containers.total}, columns ${summary.columns.total}`);
  console.table(summary.counts);
} catch (error) {
  bars.stop();
  console.error(`\ningestion failed: ${rootCause(error)}`);
  process.exitCode = 1;
}
await temporal.connection.close();

/** What the columns phase is doing: its jobs' steps, and its rate and time left once it has one. */
function columnsActivity(progress: IngestProgress, written: number): string {
  columnsRate.add(Date.now(), written);
  const steps = [...new Set((progress.columns.running ?? []).map((job) => job.step ?? 'starting'))].join(', ');
  const rate = columnsRate.perSecond();
  const eta = columnsRate.etaMs(progress.columns.total);
  return [
    steps || 'loading',
    rate !== undefined && `${Math.round(rate).toLocaleString('en')} columns/s`,
    eta !== undefined && `ETA ${formatDuration(eta)}`,
  ]
    .filter(Boolean)
    .join(' · ');
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1_000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

function loginName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown'; // a uid with no account (some containers)
  }
}
