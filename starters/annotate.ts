import { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { z } from 'zod';
import { changeOutcome, requestAnnotation } from '../control/annotate.js';
import { connectTemporal, createPostgres } from '../lib/platform/clients.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { TenantId } from '../lib/platform/ids.js';
import { AnnotationChange } from '../lib/propagation/contracts.js';
import { tenantExists } from '../lib/stores/tenants.js';
import { announce } from './runs.js';

const program = new Command('annotate')
  .description(
    'Adds or removes a classification, tag, owner or description on an asset; it propagates downstream in lineage.',
  )
  .requiredOption('--tenant <id>', 'tenant')
  .option('--add <attribute=value>', 'e.g. classification=PII, tag=finance, owner=ana@example.com')
  .option('--remove <attribute=value>', 'e.g. classification=PII')
  .option('--actor <name>', 'who asks, kept with the change', `cli:${userInfo().username}`)
  .option('--no-wait', 'return once the change is queued, without waiting for its walk to end')
  .argument('<qualifiedName>', 'the asset, e.g. postgres://shop/shop/public/customers/email')
  .parse();

const opts = program.opts<{ tenant: string; add?: string; remove?: string; actor: string; wait: boolean }>();
if (Boolean(opts.add) === Boolean(opts.remove)) program.error('give exactly one of --add or --remove');
const [attribute = '', ...rest] = (opts.add ?? opts.remove ?? '').split('=');
const parsed = z.object({ tenant: TenantId, change: AnnotationChange }).safeParse({
  tenant: opts.tenant,
  change: {
    qualifiedName: program.args[0],
    op: opts.add ? 'add' : 'remove',
    attribute,
    value: rest.join('='),
    actor: opts.actor,
  },
});
const { tenant, change } = parsed.success
  ? parsed.data
  : program.error(`invalid request:\n${z.prettifyError(parsed.error)}`);

const config = loadConfigOrExit();
const postgres = createPostgres(config.postgres);
const known = await tenantExists(postgres, tenant).finally(() => postgres.end());
if (!known) program.error(`unknown tenant ${JSON.stringify(tenant)}: create it first`);

const temporal = await connectTemporal(config.temporal);
try {
  const ids = await requestAnnotation(temporal, config.temporal, tenant, change, randomUUID());
  announce(config.temporal, ids.changeWorkflowId);
  if (opts.wait) {
    const outcome = await changeOutcome(temporal, ids.changeWorkflowId);
    const verb = change.op === 'add' ? 'reached' : 'taken back from';
    const count = change.op === 'add' ? outcome.reached : outcome.retracted;
    console.log(
      `${change.attribute} ${JSON.stringify(change.value)} ${verb} ${count} assets (depth ${outcome.depth}); ${outcome.published} outbound events`,
    );
    if (outcome.retracted && change.op === 'add') console.log(`${outcome.retracted} stale copies taken back`);
    for (const note of outcome.notes) console.log(note);
  }
} finally {
  await temporal.connection.close();
}
