import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { connectTemporal, createPostgres } from '../lib/clients.js';
import { loadConfigOrExit } from '../lib/config.js';
import { IngestInput } from '../lib/contracts.js';
import { rootCause } from '../lib/failures.js';
import { SourceConnection } from '../lib/extractors/sourceConnection.js';
import { runSearchAttributes } from '../lib/searchAttributes.js';
import { saveConnection } from '../lib/stores/connections.js';
import { ingestWorkflowId } from '../lib/workflowIds.js';
import { ingestEstate, ingestProgress, type IngestProgress } from '../workflows/index.js';
import { announce, follow, startOnce } from './runs.js';

const program = new Command('ingest')
  .description('Ingests a connection: containers first, then columns through Spark. Shows progress until done.')
  .requiredOption('--tenant <id>', 'tenant')
  .requiredOption('--connection <id>', 'connection id (lowercase letters, digits, - or _)')
  .option(
    '--source <uri>',
    'register or update the connection first: postgres://user:pass@host:port/db, mysql://user:pass@host:port, s3://bucket/key.ndjson[.gz] or file:///path',
  )
  .option('--run-id <id>', 'run id', `run-${new Date().toISOString().replace(/\D/g, '')}`)
  .option('--buckets <n>', 'buckets the extract is split into (keep it the same for a connection)', '64')
  .option('--buckets-per-job <n>', 'buckets per Spark job', '16')
  .parse();
const options = program.opts<{ tenant: string; connection: string; source?: string; runId: string; buckets: string; bucketsPerJob: string }>(); // prettier-ignore

const parsed = IngestInput.safeParse({
  tenant: options.tenant,
  connectionId: options.connection,
  runId: options.runId,
  options: { buckets: Number(options.buckets), bucketsPerColumnsJob: Number(options.bucketsPerJob) },
});
const input = parsed.success
  ? parsed.data
  : program.error(
      `invalid options:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`,
    );

const config = loadConfigOrExit();
if (options.source) {
  const parsedSource = SourceConnection.safeParse(sourceFromUri(options.source));
  const source = parsedSource.success
    ? parsedSource.data
    : program.error(
        `invalid --source: ${parsedSource.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
  const postgres = createPostgres(config.postgres);
  await saveConnection(postgres, config.secretsKey, input.tenant, input.connectionId, source);
  await postgres.end();
}

const temporal = await connectTemporal(config.temporal);
const workflowId = ingestWorkflowId(input.tenant, input.connectionId, input.runId);
await startOnce(temporal, ingestEstate, {
  workflowId,
  taskQueue: config.temporal.taskQueue,
  args: [input],
  typedSearchAttributes: runSearchAttributes(input.tenant, 'ingest', input.connectionId),
});
announce(config.temporal, workflowId);

const bars = new cliProgress.MultiBar(
  { format: ' {label} [{bar}] {value}/{total} {extra}', hideCursor: true, clearOnComplete: false, noTTYOutput: true, notTTYSchedule: 5000 },
  cliProgress.Presets.shades_classic,
); // prettier-ignore
const containers = bars.create(1, 0, { label: 'containers', extra: '' });
const columns = bars.create(1, 0, { label: 'columns   ', extra: '' });
const handle = temporal.workflow.getHandle<typeof ingestEstate>(workflowId);
const show = (progress: IngestProgress) => {
  containers.setTotal(Math.max(1, progress.containers.total));
  containers.update(progress.containers.done, { extra: progress.containersReady ? 'ready' : progress.phase });
  columns.setTotal(Math.max(1, progress.columns.total));
  columns.update(progress.columns.done, { extra: progress.phase === 'columns' ? 'loading' : '' });
};
try {
  const summary = await follow(handle, ingestProgress, show);
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

/** A source given as a URI on the command line, as a SourceConnection (which validates it). */
function sourceFromUri(uri: string): unknown {
  const url = new URL(uri);
  const common = {
    host: url.hostname,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
  switch (url.protocol) {
    case 'postgres:':
    case 'postgresql:':
      return { type: 'postgres', ...common, port: Number(url.port || 5432), database: url.pathname.slice(1) };
    case 'mysql:':
      return { type: 'mysql', ...common, port: Number(url.port || 3306) };
    default:
      return { type: 'ndjson', uri };
  }
}
