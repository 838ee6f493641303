import { Command, Option } from 'commander';
import { randomUUID } from 'node:crypto';
import { connectTemporal, createKafka, createPostgres, createProducer } from '../lib/platform/clients.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { SkeletonInput, type SkeletonRequested } from '../lib/ingest/contracts.js';
import { runSearchAttributes } from '../lib/temporal/searchAttributes.js';
import { kafkaAdminCredentials, provisionTenantTopics, withKafkaAdmin } from '../lib/kafka/provisioning.js';
import { inboundTopic } from '../lib/kafka/topics.js';
import { createTenant, tenantExists } from '../lib/stores/tenants.js';
import { skeletonWorkflowId } from '../lib/temporal/workflowIds.js';
import { skeletonRun, skeletonStatus } from '../workflows/index.js';
import { announce, follow, startOnce } from './runs.js';

const program = new Command('skeleton')
  .description('Runs the walking skeleton: S3 -> Spark -> Cassandra -> Kafka -> PostgreSQL, orchestrated by Temporal.')
  .option('--tenant <id>', 'tenant to run as', 'demo')
  .option(
    '--run-id <id>',
    'run id (the same id never runs twice)',
    `run-${new Date().toISOString().replace(/\D/g, '')}`,
  )
  .option('--tables <n>', 'tables in the sample estate', '20')
  .option('--columns <n>', 'columns per table', '10')
  .addOption(
    new Option('--via <path>', 'start directly, or by a command on Kafka')
      .choices(['temporal', 'kafka'])
      .default('temporal'),
  )
  .parse();

const options = program.opts<{ tenant: string; runId: string; tables: string; columns: string; via: string }>();
const parsed = SkeletonInput.safeParse({
  tenant: options.tenant,
  runId: options.runId,
  tables: Number(options.tables),
  columnsPerTable: Number(options.columns),
});
const input = parsed.success
  ? parsed.data
  : program.error(
      `invalid options:\n${parsed.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`).join('\n')}`,
    );

const config = loadConfigOrExit();
// The demo tenant is registered on first use: the bridge refuses commands of tenants the control plane doesn't know.
const postgres = createPostgres(config.postgres);
if (!(await tenantExists(postgres, input.tenant))) await createTenant(postgres, input.tenant, input.tenant);
await postgres.end();
const temporal = await connectTemporal(config.temporal);
const workflowId = skeletonWorkflowId(input.tenant, input.runId);

if (options.via === 'kafka') {
  // The starter is the operator's: as Kafka's admin it makes the tenant's topics if the tenant predates them, then
  // sends the command where the tenant's own producers would (metasync.inbound.<tenant>.commands).
  await withKafkaAdmin(config, (admin) => provisionTenantTopics(config, admin, input.tenant));
  const producer = createProducer(createKafka(config.kafka, 'starter', kafkaAdminCredentials(config)));
  await producer.connect();
  const command: SkeletonRequested = {
    id: randomUUID(),
    type: 'skeleton.requested',
    version: 1,
    tenant: input.tenant,
    source: 'metasync/starter',
    occurredAt: new Date().toISOString(),
    payload: { runId: input.runId, tables: input.tables, columnsPerTable: input.columnsPerTable },
  };
  const topic = inboundTopic(input.tenant, 'commands');
  await producer.send({ topic, acks: -1, messages: [{ key: input.tenant, value: JSON.stringify(command) }] });
  await producer.disconnect();
  console.log(`sent ${command.type} ${command.id} to ${topic}; the bridge starts the run`);
} else {
  await startOnce(temporal, skeletonRun, {
    workflowId,
    taskQueue: config.temporal.taskQueue,
    args: [input],
    typedSearchAttributes: runSearchAttributes(input.tenant, 'skeleton'),
  });
}

announce(config.temporal, workflowId);
const handle = temporal.workflow.getHandle<typeof skeletonRun>(workflowId);
if (options.via === 'kafka') await waitUntilStarted();
let lastStep = '';
const started = Date.now();
const summary = await follow(
  handle,
  () => handle.query(skeletonStatus),
  ({ step }) => {
    if (step === lastStep) return;
    lastStep = step;
    console.log(`  ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s  ${step}`);
  },
);
console.log(
  `done: ${summary.assetsWritten} assets written to Cassandra, ${summary.assetsRejected} rejected, from s3://${config.s3.bucket}/${summary.objectKey}`,
);
await temporal.connection.close();

/** A command sent through Kafka becomes a run once the bridge has consumed it. */
async function waitUntilStarted(timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (
    !(await handle.describe().then(
      () => true,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) {
      console.error(
        `no run after ${timeoutMs / 1000}s: is the bridge running? (npm run stack:status, .stack/logs/bridge.log)`,
      );
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
