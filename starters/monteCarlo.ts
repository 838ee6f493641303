import { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { createPostgres } from '../lib/clients.js';
import { loadConfigOrExit } from '../lib/config.js';
import { IngestInput, TenantId } from '../lib/contracts.js';
import { loadConnection } from '../lib/stores/connections.js';
import { loadMonteCarloSecret, mapMonteCarloAccount, saveMonteCarloSecret } from '../lib/stores/monteCarlo.js';
import { saveTenant, tenantExists } from '../lib/stores/tenants.js';

const config = loadConfigOrExit();
const program = new Command('monte-carlo:connect')
  .description(
    "Connects a tenant to Monte Carlo: registers the tenant and its webhook secret, maps a Monte Carlo account to a MetaSync connection, and prints the webhook URL to paste into Monte Carlo's webhook channel.",
  )
  .requiredOption('--tenant <id>', 'tenant (registered if new)')
  .requiredOption('--account <id>', "Monte Carlo account id (the webhook's account.id)")
  .requiredOption('--connection <id>', "the MetaSync connection that account's tables belong to (it must exist)")
  .option('--secret <secret>', 'the webhook secret set in Monte Carlo (default: keep the current one, or generate one)')
  .option('--rotate-secret', 'generate a new webhook secret even if the tenant has one')
  .option('--display-name <name>', 'the tenant display name')
  .option('--base-url <url>', 'where Monte Carlo reaches the API', `http://${config.api.host}:${config.api.port}`)
  .parse();

const Options = z.object({
  tenant: TenantId,
  account: z.string().trim().min(1).max(200),
  connection: IngestInput.shape.connectionId,
  secret: z.string().min(1, 'a webhook secret is not empty').optional(),
  rotateSecret: z.boolean().optional(),
  displayName: z.string().min(1).optional(),
  baseUrl: z.url().transform((url) => url.replace(/\/+$/, '')),
});
const parsed = Options.safeParse(program.opts());
const options = parsed.success
  ? parsed.data
  : program.error(
      `invalid options:\n${parsed.error.issues.map((i) => `  --${String(i.path[0])}: ${i.message}`).join('\n')}`,
    );
const { tenant, account, connection } = options;

const postgres = createPostgres(config.postgres);
try {
  if (!(await loadConnection(postgres, config.secretsKey, tenant, connection))) {
    console.error(
      `tenant ${tenant} has no connection ${JSON.stringify(connection)}: register it first, e.g. npm run ingest -- --tenant ${tenant} --connection ${connection} --source postgres://user:pass@host:5432/db`,
    );
    process.exitCode = 1;
  } else {
    // Re-running for another account keeps a display name given before.
    if (options.displayName !== undefined || !(await tenantExists(postgres, tenant))) {
      await saveTenant(postgres, tenant, options.displayName);
    }
    // A second account must not silently replace the secret Monte Carlo already signs with.
    const current = await loadMonteCarloSecret(postgres, config.secretsKey, tenant);
    const generated =
      options.secret === undefined && (current === undefined || options.rotateSecret)
        ? randomBytes(42).toString('base64url') // what Monte Carlo suggests: secrets.token_urlsafe(42)
        : undefined;
    const secret = options.secret ?? generated;
    if (secret !== undefined && secret !== current) {
      await saveMonteCarloSecret(postgres, config.secretsKey, tenant, secret);
    }
    await mapMonteCarloAccount(postgres, tenant, account, connection);

    console.log(`tenant ${tenant}: Monte Carlo account ${account} -> connection ${connection}`);
    if (generated) {
      console.log(`webhook secret (shown once; paste it into the Monte Carlo webhook channel): ${generated}`);
    } else {
      console.log(`webhook secret: ${options.secret ? 'the one given' : 'unchanged (--rotate-secret for a new one)'}`);
    }
    console.log(`webhook URL: ${options.baseUrl}/v1/tenants/${tenant}/webhooks/monte-carlo`);
  }
} finally {
  await postgres.end();
}
