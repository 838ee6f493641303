import { Command } from 'commander';
import { z } from 'zod';
import { TenantId } from '../lib/platform/ids.js';
import {
  ApiKeyScope,
  createApiKey,
  listApiKeys,
  revokeApiKey,
  saveServiceAccount,
  ServiceAccountId,
} from '../lib/stores/apiKeys.js';
import { parseOptions, withTenant } from './cli.js';

const Tenant = z.object({ tenant: TenantId });
const CreateOptions = Tenant.extend({
  serviceAccount: ServiceAccountId,
  name: z.string().trim().min(1).max(200),
  scopes: z
    .string()
    .transform((text) => text.split(',').map((scope) => scope.trim()))
    .pipe(z.array(ApiKeyScope).min(1)),
  expiresInDays: z.coerce.number().positive().optional(),
});
const RevokeOptions = Tenant.extend({ keyId: z.string().regex(/^[0-9a-f]{16}$/, 'a key id is 16 hex digits') });

const date = (value: Date | null) => (value ? value.toISOString() : '-');

const program = new Command('api-key').description('Creates, lists and revokes the API keys of a tenant.');

program
  .command('create')
  .description('Creates a key and prints it, once: only a hash of it is kept.')
  .requiredOption('--tenant <id>', 'tenant (it must exist)')
  .option('--service-account <id>', 'the service account the key belongs to (made if missing)', 'default')
  .requiredOption('--name <name>', 'what the key is for, e.g. ci')
  .requiredOption('--scopes <list>', `comma-separated, among ${ApiKeyScope.options.join(', ')} (admin implies all)`)
  .option('--expires-in-days <n>', 'the key stops working after this many days (default: never)')
  .action(async (_options, command: Command) => {
    const { tenant, serviceAccount, name, scopes, expiresInDays } = parseOptions(command, CreateOptions);
    const expiresAt = expiresInDays === undefined ? null : new Date(Date.now() + expiresInDays * 86_400_000);
    await withTenant(tenant, async (postgres) => {
      await saveServiceAccount(postgres, { tenant, accountId: serviceAccount });
      const { keyId, key } = await createApiKey(postgres, { tenant, serviceAccount, name, scopes, expiresAt });
      console.log(
        `key ${keyId} of ${tenant}/${serviceAccount} (${name}): ${scopes.join(', ')}, expires ${date(expiresAt)}`,
      );
      console.log(`API key (shown once; keep it in a secret store): ${key}`);
      console.log(`call the API with the header: Authorization: Bearer <the key>`);
    });
  });

program
  .command('list')
  .description("Lists a tenant's keys (never the keys themselves).")
  .requiredOption('--tenant <id>', 'tenant')
  .action(async (_options, command: Command) => {
    const { tenant } = parseOptions(command, Tenant);
    await withTenant(tenant, async (postgres) => {
      const keys = await listApiKeys(postgres, tenant);
      if (keys.length === 0) console.log(`tenant ${tenant} has no API keys`);
      for (const key of keys) {
        const state = key.revokedAt ? `revoked ${date(key.revokedAt)}` : `expires ${date(key.expiresAt)}`;
        console.log(
          `${key.keyId}  ${key.serviceAccount}  ${key.name}  ${key.scopes.join(',')}  created ${date(key.createdAt)}  ${state}  last used ${date(key.lastUsedAt)}`,
        );
      }
    });
  });

program
  .command('revoke')
  .description('Revokes a key: the API refuses it within seconds.')
  .requiredOption('--tenant <id>', 'tenant')
  .requiredOption('--key-id <id>', 'the key id (npm run api-key -- list)')
  .action(async (_options, command: Command) => {
    const { tenant, keyId } = parseOptions(command, RevokeOptions);
    await withTenant(tenant, async (postgres) => {
      if (await revokeApiKey(postgres, tenant, keyId)) {
        console.log(`key ${keyId} of tenant ${tenant} revoked`);
      } else {
        console.error(`tenant ${tenant} has no active key ${keyId}: see npm run api-key -- list --tenant ${tenant}`);
        process.exitCode = 1;
      }
    });
  });

await program.parseAsync();
