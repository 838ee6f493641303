import { Command, Option } from 'commander';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { createPostgres } from '../lib/platform/clients.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { IngestInput } from '../lib/ingest/contracts.js';
import { TenantId } from '../lib/platform/ids.js';
import { loadConnection } from '../lib/stores/connections.js';
import { loadMonteCarloSecret, mapMonteCarloAccount, saveMonteCarloSecret } from '../lib/stores/monteCarlo.js';
import { saveTenant, tenantExists } from '../lib/stores/tenants.js';
import { readSecret, secretOnCommandLine } from './secretInput.js';

const SECRET_ENV = 'METASYNC_WEBHOOK_SECRET';

const config = loadConfigOrExit();
const program = new Command('monte-carlo:connect')
  .description(
    "Connects a tenant to Monte Carlo: registers the tenant and its webhook secret, maps a Monte Carlo account to a MetaSync connection, and prints the webhook URL to paste into Monte Carlo's webhook channel.",
  )
  .requiredOption('--tenant <id>', 'tenant (registered if new)')
  .requiredOption('--account <id>', "Monte Carlo account id (the webhook's account.id)")
  .requiredOption('--connection <id>', "the MetaSync connection that account's tables belong to (it must exist)")
  .option(
    '--secret-file <path>',
    `a file (readable by you only) holding the webhook secret set in Monte Carlo; or set ${SECRET_ENV}, or --prompt-secret (default: keep the current one, or generate one)`,
  )
  .option('--prompt-secret', 'ask for the webhook secret set in Monte Carlo (stdin must be a terminal)')
  // Gone: a secret on the command line is readable by every user (ps) and kept in shell history.
  .addOption(new Option('--secret <secret>').hideHelp())
  .option('--rotate-secret', 'generate a new webhook secret even if the tenant has one')
  .option('--display-name <name>', 'the tenant display name')
  .option('--base-url <url>', 'where Monte Carlo reaches the API', `http://${config.api.host}:${config.api.port}`)
  .parse();

const Options = z.object({
  tenant: TenantId,
  account: z.string().trim().min(1).max(200),
  connection: IngestInput.shape.connectionId,
  secret: z.string().optional(),
  secretFile: z.string().min(1).optional(),
  promptSecret: z.boolean().optional(),
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
if (options.secret !== undefined)
  program.error(secretOnCommandLine('--secret', SECRET_ENV, '--secret-file', 'with --prompt-secret'));
if (options.promptSecret && !process.stdin.isTTY) program.error('--prompt-secret needs a terminal on stdin');
const givenSecret = await readSecret({
  env: SECRET_ENV,
  file: options.secretFile,
  fileOption: '--secret-file',
  prompt: options.promptSecret ? 'the webhook secret set in Monte Carlo' : undefined,
}).catch((error: unknown) => program.error((error as Error).message));
if (givenSecret === '') program.error('the webhook secret given is empty: a webhook secret is not empty');

const postgres = createPostgres(config.postgres);
try {
  if (!(await loadConnection(postgres, config.secretsKey, tenant, connection))) {
    console.error(
      `tenant ${tenant} has no connection ${JSON.stringify(connection)}: register it first, e.g. npm run ingest -- --tenant ${tenant} --connection ${connection} --source postgres://user@host:5432/db (the password from METASYNC_SOURCE_PASSWORD or the prompt)`,
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
      givenSecret === undefined && (current === undefined || options.rotateSecret)
        ? randomBytes(42).toString('base64url') // what Monte Carlo suggests: secrets.token_urlsafe(42)
        : undefined;
    const secret = givenSecret ?? generated;
    if (secret !== undefined && secret !== current) {
      await saveMonteCarloSecret(postgres, config.secretsKey, tenant, secret);
    }
    await mapMonteCarloAccount(postgres, tenant, account, connection);

    console.log(`tenant ${tenant}: Monte Carlo account ${account} -> connection ${connection}`);
    if (generated) {
      console.log(`webhook secret (shown once; paste it into the Monte Carlo webhook channel): ${generated}`);
    } else {
      console.log(`webhook secret: ${givenSecret ? 'the one given' : 'unchanged (--rotate-secret for a new one)'}`);
    }
    console.log(`webhook URL: ${options.baseUrl}/v1/tenants/${tenant}/webhooks/monte-carlo`);
  }
} finally {
  await postgres.end();
}
