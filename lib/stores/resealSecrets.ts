import type pg from 'pg';
import { noCounts, type ResealCounts, type SealingKeys } from '../platform/secrets.js';
import { resealConnectionSecrets } from './connections.js';
import { resealWebhookSecrets } from './monteCarlo.js';

/** Every place PostgreSQL keeps sealed values, with what re-seals it. A new sealed column gets a line here. */
const SEALED = {
  'connection secrets': resealConnectionSecrets,
  'webhook secrets': resealWebhookSecrets,
} as const;

export type RotationReport = Record<keyof typeof SEALED, ResealCounts>;

/** Passes over the tables until no value changed under its feet (each pass is cheap once most are re-sealed). */
const MAX_PASSES = 5;

/**
 * Seals every sealed value in PostgreSQL (of the given tenants, or all) under the current key. Values any configured
 * key opens are re-sealed; the others are left as they are and counted by the key they need. Safe to repeat, and to
 * run while the services work: they open both forms as long as the old key stays configured.
 */
export async function rotateSealedSecrets(
  pool: pg.Pool,
  keys: SealingKeys,
  tenants: readonly string[] | null = null,
): Promise<RotationReport> {
  const total = Object.fromEntries(Object.keys(SEALED).map((kind) => [kind, noCounts()])) as RotationReport;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    let changedMeanwhile = 0;
    for (const [kind, reseal] of Object.entries(SEALED) as [keyof typeof SEALED, typeof resealWebhookSecrets][]) {
      const counts = await reseal(pool, keys, tenants);
      const sum = total[kind];
      if (pass === 0) sum.examined = counts.examined;
      sum.resealed += counts.resealed;
      // What the last pass found is the state the tables are left in.
      sum.changedMeanwhile = counts.changedMeanwhile;
      sum.unopenable = counts.unopenable;
      changedMeanwhile += counts.changedMeanwhile;
    }
    if (changedMeanwhile === 0) break;
  }
  return total;
}

/** Whether the report leaves nothing under another key: then the previous keys may be removed. */
export const rotationComplete = (report: RotationReport): boolean =>
  Object.values(report).every((counts) => counts.changedMeanwhile === 0 && Object.keys(counts.unopenable).length === 0);
