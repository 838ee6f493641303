import type pg from 'pg';
import { TenantId } from '../platform/ids.js';
import { mergeRules } from './mergeRules.js';
import { loadDefaultRules, parseRulesOverride, type RuleSet } from './rules.js';

/** Two saves racing for the same next version: the loser takes the one after. */
const SAVE_ATTEMPTS = 5;

/**
 * Validates a tenant's override (throws a RulesError naming what is wrong) and stores it as the tenant's next
 * version; returns that version.
 */
export async function saveTenantRules(pool: pg.Pool, tenant: string, override: unknown): Promise<number> {
  const rules = parseRulesOverride(override);
  TenantId.parse(tenant);
  for (let attempt = 1; attempt <= SAVE_ATTEMPTS; attempt++) {
    const { rows } = await pool.query<{ version: number }>(
      `INSERT INTO mapping_rule_sets (tenant, version, rules)
       SELECT $1, coalesce(max(version), 0) + 1, $2 FROM mapping_rule_sets WHERE tenant = $1
       ON CONFLICT (tenant, version) DO NOTHING
       RETURNING version`,
      [tenant, JSON.stringify(rules)],
    );
    if (rows[0]) return rows[0].version;
  }
  throw new Error(`could not save mapping rules for ${tenant}: ${SAVE_ATTEMPTS} concurrent saves won the race`);
}

/** The rules a tenant's runs apply: the defaults with the tenant's latest override, if any, merged in. */
export async function effectiveRules(pool: pg.Pool, tenant: string): Promise<RuleSet> {
  const { rows } = await pool.query<{ rules: unknown }>(
    'SELECT rules FROM mapping_rule_sets WHERE tenant = $1 ORDER BY version DESC LIMIT 1',
    [tenant],
  );
  const defaults = loadDefaultRules();
  return rows[0] ? mergeRules(defaults, parseRulesOverride(rows[0].rules)) : defaults;
}
