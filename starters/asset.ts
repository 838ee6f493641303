import { Command } from 'commander';
import { z } from 'zod';
import { createCassandra, createPostgres } from '../lib/platform/clients.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { type AssetIncident } from '../lib/incidents/contracts.js';
import { TenantId } from '../lib/platform/ids.js';
import { incidentStore } from '../lib/stores/incidents.js';
import { tenantExists } from '../lib/stores/tenants.js';

const program = new Command('asset')
  .description('Shows an asset of the metadata lake with its open and recently resolved incidents.')
  .requiredOption('--tenant <id>', 'tenant')
  .option('--recent <n>', 'resolved incidents to show, newest first', '20')
  .argument('<qualifiedName>', 'the asset, e.g. postgres://warehouse/sales/public/orders')
  .parse();
const [qualifiedName = ''] = program.args;
const Options = z.object({ tenant: TenantId, recent: z.coerce.number().int().min(0).max(1000) });
const parsed = Options.safeParse(program.opts());
const { tenant, recent } = parsed.success
  ? parsed.data
  : program.error(
      `invalid options:\n${parsed.error.issues.map((i) => `  --${String(i.path[0])}: ${i.message}`).join('\n')}`,
    );

const config = loadConfigOrExit();
const postgres = createPostgres(config.postgres);
const known = await tenantExists(postgres, tenant).finally(() => postgres.end());
if (!known) {
  console.error(`unknown tenant ${JSON.stringify(tenant)}: register it with npm run monte-carlo:connect`);
  process.exit(1);
}

const cassandra = createCassandra(config.cassandra);
try {
  const view = await incidentStore(cassandra).assetView(tenant, qualifiedName, recent);
  console.log(view.qualifiedName);
  if (view.asset) {
    const { assetType, name, parentQualifiedName, dataType, deleted, updatedAt } = view.asset;
    console.log(
      `  ${assetType} ${name}${dataType ? ` (${dataType})` : ''}${deleted ? ', deleted from its source' : ''}`,
    );
    console.log(`  parent ${parentQualifiedName ?? '(none)'}, updated ${updatedAt ?? 'never'}`);
  } else {
    console.log('  not in the catalog (yet): its incidents are kept all the same');
  }
  show('open incidents', view.openIncidents);
  show('recently resolved incidents', view.recentIncidents);
} finally {
  await cassandra.shutdown();
}

function show(title: string, incidents: AssetIncident[]): void {
  console.log(`\n${title}: ${incidents.length || 'none'}`);
  if (!incidents.length) return;
  console.table(
    incidents.map((incident) => ({
      incident: incident.incidentId,
      type: incident.incidentType ?? '',
      severity: incident.severity ?? '',
      owner: incident.owner ?? '',
      feedback: incident.feedback ?? '',
      opened: incident.openedAt,
      updated: incident.updatedAt,
      resolved: incident.resolvedAt ?? '',
      url: incident.url ?? '',
    })),
  );
}
