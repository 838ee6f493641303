import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { PropagationPolicy, type AnnotationAttribute, type ResolvedPropagation } from './contracts.js';

const DEFAULT_POLICY_FILE = new URL('../../policies/propagation.json', import.meta.url);

let defaultPolicy: PropagationPolicy | undefined;

/** policies/propagation.json, read and validated once per process. */
export function loadDefaultPolicy(): PropagationPolicy {
  defaultPolicy ??= Object.freeze(PropagationPolicy.parse(JSON.parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8'))));
  return defaultPolicy;
}

/** What the first rule matching the value says, completed by the policy's defaults; no rule means no propagation. */
export function resolvePropagation(
  policy: PropagationPolicy,
  attribute: AnnotationAttribute,
  value: string,
): ResolvedPropagation {
  const rule = policy.rules.find((r) => r.attribute === attribute && (!r.values || r.values.includes(value)));
  const { defaults } = policy;
  return {
    propagate: rule?.propagate ?? false,
    maxDepth: rule?.maxDepth ?? defaults.maxDepth,
    levels: rule?.levels ?? defaults.levels,
    stopAtAssetTypes: rule?.stopAtAssetTypes ?? defaults.stopAtAssetTypes,
    excludeAssetTypes: rule?.excludeAssetTypes ?? defaults.excludeAssetTypes,
    maxAssetsPerChange: defaults.maxAssetsPerChange,
  };
}

/** Validates and stores a tenant's policy (it replaces the default as a whole); throws a ZodError if invalid. */
export async function saveTenantPolicy(pool: pg.Pool, tenant: string, policy: unknown): Promise<PropagationPolicy> {
  const parsed = PropagationPolicy.parse(policy);
  await pool.query(
    `INSERT INTO propagation_policies (tenant, policy) VALUES ($1, $2)
     ON CONFLICT (tenant) DO UPDATE SET policy = EXCLUDED.policy, updated_at = now()`,
    [tenant, JSON.stringify(parsed)],
  );
  return parsed;
}

export async function tenantPolicy(pool: pg.Pool, tenant: string): Promise<PropagationPolicy> {
  const { rows } = await pool.query<{ policy: unknown }>('SELECT policy FROM propagation_policies WHERE tenant = $1', [
    tenant,
  ]);
  return rows[0] ? PropagationPolicy.parse(rows[0].policy) : loadDefaultPolicy();
}
