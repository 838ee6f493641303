import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { createPostgres } from '../lib/platform/clients.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { TenantId } from '../lib/platform/ids.js';
import { sinkTopicProblem, Subscription, SubscriptionId } from '../lib/subscriptions/contracts.js';
import { loadConnection } from '../lib/stores/connections.js';
import { deleteSubscription, saveSubscription, subscriptionStatuses } from '../lib/stores/subscriptions.js';

const program = new Command('subscribe')
  .description(
    "Creates or replaces a subscription to a tenant's annotation changes (workers/subscribers.ts picks it up within seconds), lists subscriptions with their delivery status, or deletes one.",
  )
  .option('--tenant <id>', 'tenant')
  .option('--id <id>', 'subscription id (lowercase letters, digits, - or _)')
  .option(
    '--file <path>',
    'the subscription spec, JSON: {filter, reshape, sink} (lib/subscriptions/contracts.ts Subscription)',
  )
  .option('--list', "list the subscriptions (the tenant's, or every tenant's) with their delivery status")
  .option('--delete', 'delete the subscription (an enforcement sink leaves its grants as they are)')
  .parse();
const options = program.opts<{ tenant?: string; id?: string; file?: string; list?: boolean; delete?: boolean }>();

const issues = (error: z.ZodError) =>
  error.issues.map((i) => `  ${i.path.join('.') || '(spec)'}: ${i.message}`).join('\n');
const valid = <T>(schema: z.ZodType<T>, value: unknown, what: string): T => {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : program.error(`invalid ${what}:\n${issues(parsed.error)}`);
};

const config = loadConfigOrExit();
const postgres = createPostgres(config.postgres);
try {
  if (options.list) {
    const tenant = options.tenant === undefined ? undefined : valid(TenantId, options.tenant, '--tenant');
    const statuses = await subscriptionStatuses(postgres, tenant);
    if (statuses.length === 0) console.log('no subscriptions');
    for (const s of statuses) {
      const state = s.failingSince
        ? `FAILING since ${s.failingSince.toISOString()}: ${s.lastError}`
        : `ok, last delivery ${s.lastDeliveredAt?.toISOString() ?? 'never'}`;
      console.log(`${s.tenant}/${s.id}  ${s.sinkType}  delivered ${s.delivered}  ${state}`);
    }
  } else {
    const tenant = valid(TenantId, options.tenant, '--tenant');
    const id = valid(SubscriptionId, options.id, '--id');
    if (options.delete) {
      const deleted = await deleteSubscription(postgres, tenant, id);
      console.log(deleted ? `deleted ${tenant}/${id}` : `tenant ${tenant} has no subscription ${id}`);
      if (!deleted) process.exitCode = 1;
    } else {
      const file = options.file ?? program.error('--file <path> is required to create or replace a subscription');
      let json: unknown;
      try {
        json = JSON.parse(await readFile(file, 'utf8'));
      } catch (error) {
        program.error(`cannot read ${file} as JSON: ${(error as Error).message}`);
      }
      const spec = valid(Subscription, json, `subscription spec in ${file}`);
      const sinkProblem = sinkTopicProblem(tenant, spec.sink);
      if (sinkProblem) program.error(`invalid subscription spec in ${file}:\n  ${sinkProblem}`);
      if (spec.sink.type === 'postgres-enforcement') {
        const connection = await loadConnection(postgres, config.secretsKey, tenant, spec.sink.connectionId);
        if (connection?.type !== 'postgres') {
          program.error(
            `tenant ${tenant} has no postgres connection ${JSON.stringify(spec.sink.connectionId)}: register it first (npm run ingest -- --tenant ${tenant} --connection ${spec.sink.connectionId} --source postgres://...)`,
          );
        }
      }
      await saveSubscription(postgres, tenant, id, spec);
      console.log(`subscription ${tenant}/${id} saved: ${spec.sink.type} sink`);
    }
  }
} finally {
  await postgres.end();
}
