import { Command } from 'commander';
import { z } from 'zod';
import { createS3 } from '../lib/platform/clients.js';
import {
  checkConnection,
  connectionSummary,
  errorMessage,
  secretsOf,
  SourceConnection,
} from '../lib/extractors/index.js';
import { configuredDestinations } from '../lib/platform/destinations.js';
import { IngestInput } from '../lib/ingest/contracts.js';
import { TenantId } from '../lib/platform/ids.js';
import { deleteConnection, listConnections, loadConnection, saveConnection } from '../lib/stores/connections.js';
import { parseOptions, withTenant } from './cli.js';
import { PASSWORD_FILE_HELP, SOURCE_OPTION_HELP, sourceFromOptions } from './sourceOption.js';

const Tenant = z.object({ tenant: TenantId });
const Named = Tenant.extend({ connection: IngestInput.shape.connectionId });
const AddOptions = Named.extend({ source: z.string().min(1), passwordFile: z.string().min(1).optional() });

function fail(message: string) {
  console.error(message);
  process.exitCode = 1;
}

const program = new Command('connection').description(
  'Adds, lists, tests and removes the connections of a tenant, as the HTTP API does (/v1/tenants/<tenant>/connections).',
);

program
  .command('add')
  .description('Creates or replaces a connection; its password is stored sealed and never shown.')
  .requiredOption('--tenant <id>', 'tenant (it must exist)')
  .requiredOption('--connection <id>', 'connection id (lowercase letters, digits, - or _)')
  .requiredOption('--source <uri>', SOURCE_OPTION_HELP)
  .option('--password-file <path>', PASSWORD_FILE_HELP)
  .action(async (_options, command: Command) => {
    const options = parseOptions(command, AddOptions);
    const { tenant, connection } = options;
    const given = await sourceFromOptions(options.source, options.passwordFile).catch((error: unknown) =>
      command.error(`invalid options:\n  --source: ${errorMessage(error)}`),
    );
    const parsed = SourceConnection.safeParse(given);
    const source = parsed.success
      ? parsed.data
      : command.error(
          `invalid options:\n${parsed.error.issues.map((i) => `  --source: ${i.path.join('.')}: ${i.message}`).join('\n')}`,
        );
    await withTenant(tenant, async (postgres, config) => {
      const { created } = await saveConnection(postgres, config.secretsKey, tenant, connection, source);
      console.log(`connection ${connection} of tenant ${tenant} ${created ? 'created' : 'replaced'}`);
      console.log(`check it with: npm run connection -- test --tenant ${tenant} --connection ${connection}`);
    });
  });

program
  .command('list')
  .description("Lists a tenant's connections (never their passwords).")
  .requiredOption('--tenant <id>', 'tenant')
  .action(async (_options, command: Command) => {
    const { tenant } = parseOptions(command, Tenant);
    await withTenant(tenant, async (postgres) => {
      const connections = await listConnections(postgres, tenant);
      if (connections.length === 0) console.log(`tenant ${tenant} has no connections`);
      for (const view of connections) {
        const password = !secretsOf(view.type).includes('password')
          ? ''
          : view.passwordSet
            ? '  password set'
            : '  no password';
        console.log(`${view.connectionId}  ${connectionSummary(view)}${password}  updated ${view.updatedAt}`);
      }
    });
  });

program
  .command('test')
  .description('Connects to the source with the stored connection, and says what answered.')
  .requiredOption('--tenant <id>', 'tenant')
  .requiredOption('--connection <id>', 'connection id')
  .action(async (_options, command: Command) => {
    const { tenant, connection } = parseOptions(command, Named);
    await withTenant(tenant, async (postgres, config) => {
      const source = await loadConnection(postgres, config.secretsKey, tenant, connection);
      if (!source) return fail(`tenant ${tenant} has no connection ${connection}: see npm run connection -- list`);
      const s3 = createS3(config.s3);
      try {
        const destinations = configuredDestinations(config);
        const check = await checkConnection(source, { tenant, destinations, s3, bucket: config.s3.bucket });
        if (!check.ok) return fail(`failed after ${check.latencyMs} ms: ${check.error}`);
        const details = Object.entries(check.details).map(([name, value]) => `${name} ${value}`);
        console.log(`ok in ${check.latencyMs} ms: ${[check.serverVersion ?? 'found', ...details].join(', ')}`);
      } finally {
        s3.destroy();
      }
    });
  });

program
  .command('remove')
  .description('Removes a connection that no subscription uses.')
  .requiredOption('--tenant <id>', 'tenant')
  .requiredOption('--connection <id>', 'connection id')
  .action(async (_options, command: Command) => {
    const { tenant, connection } = parseOptions(command, Named);
    await withTenant(tenant, async (postgres) => {
      const { found, usedBy } = await deleteConnection(postgres, tenant, connection);
      if (!found) return fail(`tenant ${tenant} has no connection ${connection}: see npm run connection -- list`);
      if (usedBy.length > 0) {
        return fail(
          `connection ${connection} is the sink of subscription ${usedBy.join(', ')}: delete those or point them at another connection first`,
        );
      }
      console.log(`connection ${connection} of tenant ${tenant} removed`);
    });
  });

await program.parseAsync();
