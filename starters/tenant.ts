import { Command } from 'commander';
import { z } from 'zod';
import { TenantId } from '../lib/platform/ids.js';
import { issueTenantKafkaAccess, onboardTenant, type TenantKafkaAccess } from '../control/onboarding.js';
import { listTenants, updateTenant } from '../lib/stores/tenants.js';
import { parseOptions, withPostgres, withTenant } from './cli.js';

/** The operator's tenant commands: the same library calls as POST /v1/tenants and PATCH /v1/tenants/:tenant. */

const Tenant = z.object({ tenant: TenantId });
const CreateOptions = Tenant.extend({ displayName: z.string().trim().min(1).max(200).optional() });

const program = new Command('tenant').description('Creates, lists, suspends and resumes tenants (the operator).');

/** Shown once: the tenant's Kafka principal and where it may produce and consume. */
function printKafkaAccess(kafka: TenantKafkaAccess): void {
  console.log(`its Kafka credential (shown once; hand it to whoever produces or consumes for the tenant):`);
  console.log(`  bootstrap servers  ${kafka.bootstrapServers.join(',')}  (SASL_PLAINTEXT, ${kafka.mechanism})`);
  console.log(`  username           ${kafka.username}`);
  console.log(`  password           ${kafka.password}`);
  console.log(`  produces to        ${Object.values(kafka.inboundTopics).join(', ')}`);
  console.log(
    `  consumes           ${kafka.outboundTopic}, ${kafka.sinkTopicPrefix}*  in groups ${kafka.consumerGroupPrefix}*`,
  );
}

program
  .command('create')
  .description(
    'Creates a tenant with an admin service account and its Kafka topics, and prints its first admin key and Kafka credential once.',
  )
  .requiredOption('--tenant <id>', '2-63 lowercase letters, digits or dashes')
  .option('--display-name <name>', 'a name for people (default: the id)')
  .action(async (_options, command: Command) => {
    const { tenant, displayName } = parseOptions(command, CreateOptions);
    await withPostgres(async (postgres, config) => {
      const onboarded = await onboardTenant(postgres, config, {
        tenant,
        displayName: displayName ?? tenant,
        createdBy: 'npm run tenant',
      });
      if (!onboarded) {
        console.error(`tenant ${tenant} exists already: npm run tenant -- list`);
        process.exitCode = 1;
        return;
      }
      console.log(`tenant ${tenant} created`);
      console.log(
        `its first admin key (shown once; hand it to the tenant's administrators): ${onboarded.adminKey.key}`,
      );
      printKafkaAccess(onboarded.kafka);
    });
  });

program
  .command('kafka-credentials')
  .description(
    'Gives a tenant a new Kafka password (the old one stops working) and makes its topics and ACLs if it predates them; prints the credential once.',
  )
  .requiredOption('--tenant <id>', 'tenant')
  .action(async (_options, command: Command) => {
    const { tenant } = parseOptions(command, Tenant);
    await withTenant(tenant, async (_postgres, config) => {
      printKafkaAccess(await issueTenantKafkaAccess(config, tenant));
    });
  });

program
  .command('list')
  .description('Lists tenants with their state.')
  .action(async () => {
    await withPostgres(async (postgres) => {
      let after: string | undefined;
      for (;;) {
        const page = await listTenants(postgres, 500, after);
        for (const t of page) {
          const state = t.suspendedAt ? `suspended ${t.suspendedAt.toISOString()}` : 'active';
          console.log(`${t.tenant}  ${t.displayName}  ${state}  created ${t.createdAt.toISOString()}`);
        }
        if (page.length < 500) break;
        after = page.at(-1)!.tenant;
      }
    });
  });

for (const [name, suspended] of [
  ['suspend', true],
  ['resume', false],
] as const) {
  program
    .command(name)
    .description(
      suspended
        ? "Refuses the tenant's keys and inbound events (kept as dead letters); its data stays."
        : 'Lets the tenant in again.',
    )
    .requiredOption('--tenant <id>', 'tenant')
    .action(async (_options, command: Command) => {
      const { tenant } = parseOptions(command, Tenant);
      await withPostgres(async (postgres) => {
        const updated = await updateTenant(postgres, tenant, { suspended });
        if (updated) console.log(`tenant ${tenant} ${suspended ? 'suspended' : 'resumed'}`);
        else {
          console.error(`no tenant ${tenant}: npm run tenant -- list`);
          process.exitCode = 1;
        }
      });
    });
}

await program.parseAsync();
