import type { RuleSet, RulesOverride, SourceRules } from './rules.js';

/**
 * A tenant's override on top of a base rule set:
 * - type rules: the override's rules for a source (or for `default`) are tried before the base's;
 * - enrichment: the override's rules are added after the base's (tags only ever add up);
 * - per source: nameCase, and each key of paths, fields and properties, replace the base's one by one;
 * - validation: each key replaces the base's.
 * Nothing in the base can be removed, only replaced or added to.
 */
export function mergeRules(base: RuleSet, override: RulesOverride): RuleSet {
  const types = override.types ?? {};
  const sources = override.sources ?? {};
  const mergeSource = (rules: SourceRules, changes: Partial<SourceRules> = {}): SourceRules => ({
    nameCase: changes.nameCase ?? rules.nameCase,
    paths: { ...rules.paths, ...changes.paths },
    fields: { ...rules.fields, ...changes.fields },
    properties: { ...rules.properties, ...changes.properties },
  });
  return {
    version: base.version,
    types: {
      default: [...(types.default ?? []), ...base.types.default],
      postgres: [...(types.postgres ?? []), ...base.types.postgres],
      mysql: [...(types.mysql ?? []), ...base.types.mysql],
      ndjson: [...(types.ndjson ?? []), ...base.types.ndjson],
    },
    sources: {
      postgres: mergeSource(base.sources.postgres, sources.postgres),
      mysql: mergeSource(base.sources.mysql, sources.mysql),
      ndjson: mergeSource(base.sources.ndjson, sources.ndjson),
    },
    enrichment: [...base.enrichment, ...(override.enrichment ?? [])],
    validation: { ...base.validation, ...override.validation },
  };
}
