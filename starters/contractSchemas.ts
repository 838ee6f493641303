import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { z } from 'zod';
import { IncidentEvent } from '../lib/incidents/contracts.js';
import { MonteCarloAlertUpdateWebhook, MonteCarloIncidentWebhook } from '../lib/incidents/monteCarlo/contracts.js';
import { EventEnvelope } from '../lib/kafka/envelope.js';
import { AnnotationChanged, AnnotationRequested } from '../lib/propagation/contracts.js';

/**
 * JSON Schema (draft 2020-12) of the contracts producers write to, generated from the zod schemas so the two
 * cannot disagree: `npm run contracts:schemas` rewrites contracts/json-schema/, and a unit test fails when the
 * committed files differ from a fresh generation. Refinements (an alert update must set one of its fields) do not
 * translate; the zod schema stays the authority.
 */

export const schemaDir = fileURLToPath(new URL('../contracts/json-schema/', import.meta.url));

const published = {
  'event-envelope': EventEnvelope,
  'incident-event': IncidentEvent,
  'monte-carlo-incident-webhook': MonteCarloIncidentWebhook,
  'monte-carlo-alert-update-webhook': MonteCarloAlertUpdateWebhook,
  'annotation-requested': AnnotationRequested,
  'annotation-changed': AnnotationChanged,
};

/** File name (without .json) -> JSON Schema, as a consumer validates input (so unknown keys are not forbidden). */
export function contractJsonSchemas(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(published).map(([name, schema]) => {
      const { $schema, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });
      return [name, { $schema, title: name, ...rest }];
    }),
  );
}

async function writeContractSchemas(): Promise<void> {
  mkdirSync(schemaDir, { recursive: true });
  const schemas = contractJsonSchemas();
  for (const file of readdirSync(schemaDir)) {
    if (file.endsWith('.json') && !Object.hasOwn(schemas, file.slice(0, -'.json'.length))) rmSync(schemaDir + file);
  }
  for (const [name, schema] of Object.entries(schemas)) {
    const file = `${schemaDir}${name}.json`;
    const options = { ...(await resolveConfig(file)), parser: 'json' };
    writeFileSync(file, await format(JSON.stringify(schema), options));
    console.log(`wrote contracts/json-schema/${name}.json`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await writeContractSchemas();
