import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { createCassandra, createPostgres, createS3 } from '../lib/platform/clients.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { IngestInput } from '../lib/ingest/contracts.js';
import { RunId, TenantId } from '../lib/platform/ids.js';
import { DbtError } from '../lib/lineage/dbt.js';
import { importDbt } from '../lib/lineage/dbtImport.js';
import { namingContext } from '../lib/lineage/names.js';
import { effectiveRules } from '../lib/mapping/tenantRules.js';
import { listConnectionEndpoints } from '../lib/stores/connections.js';
import { lakeWriter } from '../lib/stores/lake.js';
import { lineageStore } from '../lib/stores/lineage.js';
import { tenantExists } from '../lib/stores/tenants.js';

const program = new Command('lineage:dbt')
  .description(
    "Imports a dbt project's lineage (manifest.json) into the lake, and its columns (catalog.json) when given. The edges of the project's previous import that this one no longer states are deleted.",
  )
  .requiredOption('--tenant <id>', 'tenant')
  .requiredOption('--connection <id>', 'the MetaSync connection of the database dbt builds into (it must exist)')
  .requiredOption('--manifest <path>', 'target/manifest.json of `dbt compile`, `run` or `build`')
  .option('--catalog <path>', 'target/catalog.json of `dbt docs generate`')
  .option('--project <name>', "the project's name (default: the manifest's metadata.project_name)")
  .option('--import-id <id>', 'names this import in S3', `dbt-${new Date().toISOString().replace(/\D/g, '')}`)
  .parse();

const Options = z.object({
  tenant: TenantId,
  connection: IngestInput.shape.connectionId,
  manifest: z.string().min(1),
  catalog: z.string().min(1).optional(),
  project: z.string().min(1).max(200).optional(),
  importId: RunId,
});
const parsed = Options.safeParse(program.opts());
const options = parsed.success
  ? parsed.data
  : program.error(
      `invalid options:\n${parsed.error.issues.map((i) => `  --${String(i.path[0])}: ${i.message}`).join('\n')}`,
    );

const read = (path: string) =>
  readFile(path).catch((error: Error) => program.error(`cannot read ${path}: ${error.message}`));
const manifest = await read(options.manifest);
const catalog = options.catalog === undefined ? undefined : await read(options.catalog);

const config = loadConfigOrExit();
const postgres = createPostgres(config.postgres);
const cassandra = createCassandra(config.cassandra);
const s3 = createS3(config.s3);
try {
  const { tenant } = options;
  const connection = (await listConnectionEndpoints(postgres, tenant)).find(
    (endpoint) => endpoint.connectionId === options.connection,
  );
  if (!(await tenantExists(postgres, tenant)) || !connection) {
    throw new DbtError(
      `tenant ${tenant} has no connection ${JSON.stringify(options.connection)}: register it first, e.g. npm run ingest -- --tenant ${tenant} --connection ${options.connection} --source postgres://user@host:5432/db (the password from METASYNC_SOURCE_PASSWORD or the prompt)`,
    );
  }
  const rules = await effectiveRules(postgres, tenant);
  const result = await importDbt(
    { s3, bucket: config.s3.bucket, lineage: lineageStore(cassandra), lake: lakeWriter(cassandra) },
    {
      tenant,
      connectionId: connection.connectionId,
      importId: options.importId,
      manifest,
      catalog,
      naming: namingContext(connection.sourceType, connection.connectionId, rules),
      rules,
      project: options.project,
    },
  );
  console.log(`dbt project ${result.project} -> connection ${connection.connectionId} (origin ${result.origin})`);
  for (const key of result.archived) console.log(`archived s3://${config.s3.bucket}/${key}`);
  console.table({ lineage: result.edges });
  console.log(`columns: ${result.columns.written} written, ${result.columns.rejected} rejected`);
  if (result.edges.rejected + result.columns.rejected > 0) {
    console.log(`rejections are kept with their reason in the lake's rejections table, run id ${options.importId}`);
  }
} catch (error) {
  if (!(error instanceof DbtError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
} finally {
  await postgres.end();
  await cassandra.shutdown();
  s3.destroy();
}
