import { Command } from 'commander';
import { z } from 'zod';
import { createPostgres } from '../lib/platform/clients.js';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { TenantId } from '../lib/platform/ids.js';
import { openingKeys, PUBLISHED_DEVELOPMENT_KEY, sealingKeys } from '../lib/platform/secrets.js';
import { rotateSealedSecrets, rotationComplete } from '../lib/stores/resealSecrets.js';

/**
 * Re-seals every sealed value in PostgreSQL under the current key (METASYNC_SECRETS_KEY), opening the older ones
 * with METASYNC_SECRETS_PREVIOUS_KEYS. The whole procedure is in docs/security.md ("Secrets").
 */
const program = new Command('secrets:rotate')
  .description(
    'Re-seals every connection password and webhook secret in PostgreSQL under the current sealing key, and says whether anything is still sealed under another key (then the previous keys cannot go yet).',
  )
  .option('--tenant <id...>', "only these tenants' values (default: every tenant)")
  .option(
    '--from-published-key',
    'also open what the published development key sealed (an installation that ran without its own key)',
  )
  .parse();
const Options = z.object({ tenant: z.array(TenantId).optional(), fromPublishedKey: z.boolean().optional() });
const parsed = Options.safeParse(program.opts());
const options = parsed.success
  ? parsed.data
  : program.error(
      `invalid options:\n${parsed.error.issues.map((i) => `  --${String(i.path[0])}: ${i.message}`).join('\n')}`,
    );

const config = loadConfigOrExit();
const configured = config.secretsKey;
const keys = options.fromPublishedKey
  ? sealingKeys(configured.current.key, [...configured.previous.map((key) => key.key), PUBLISHED_DEVELOPMENT_KEY])
  : configured;
console.log(
  `current key ${keys.current.id}; opening also with: ${keys.previous.map((key) => key.id).join(', ') || 'no other key'}`,
);

const postgres = createPostgres(config.postgres);
try {
  const report = await rotateSealedSecrets(postgres, keys, options.tenant ?? null);
  for (const [kind, counts] of Object.entries(report)) {
    const left = Object.entries(counts.unopenable).map(([id, n]) => `${n} under key ${id}, which is not configured`);
    const changed = counts.changedMeanwhile ? [`${counts.changedMeanwhile} changed while rotating (run again)`] : [];
    console.log(
      `${kind}: ${counts.examined} sealed, ${counts.resealed} re-sealed${[...left, ...changed].map((part) => `, ${part}`).join('')}`,
    );
  }
  if (rotationComplete(report)) {
    const others = openingKeys(configured).filter((key) => key.id !== keys.current.id);
    console.log(
      `every sealed value${options.tenant ? ' of these tenants' : ''} is under key ${keys.current.id}` +
        (others.length > 0 ? ': METASYNC_SECRETS_PREVIOUS_KEYS can go once every process runs with this key' : ''),
    );
  } else {
    console.error(
      'some values are not under the current key: configure the keys named above in METASYNC_SECRETS_PREVIOUS_KEYS and run this again',
    );
    process.exitCode = 1;
  }
} finally {
  await postgres.end();
}
