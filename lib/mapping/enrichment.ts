import type { EstateAsset, SourceType } from '../ingest/contracts.js';
import { fullMatch } from './patterns.js';
import type { EnrichmentRule } from './rules.js';
import { byCodePoint } from './values.js';

/** Marks a column whose source type matched no type rule, so the rule set can be extended. */
export const UNMAPPED_TYPE_TAG = 'type:unmapped';

function matches(rule: EnrichmentRule, asset: Omit<EstateAsset, 'tags'>, sourceType: SourceType): boolean {
  if (rule.kinds && !rule.kinds.includes(asset.assetType)) return false;
  if (rule.sources && !rule.sources.includes(sourceType)) return false;
  if (rule.name && !fullMatch(rule.name, asset.name)) return false;
  if (rule.dataType && (asset.dataType === null || !fullMatch(rule.dataType, asset.dataType))) return false;
  if (rule.property) {
    const { key, in: values } = rule.property;
    if (!Object.hasOwn(asset.properties, key)) return false;
    if (values && !values.includes(asset.properties[key] ?? '')) return false;
  }
  return true;
}

/** Every tag whose rule's conditions all hold (a rule without conditions tags every asset of its kinds), sorted. */
export function deriveTags(
  asset: Omit<EstateAsset, 'tags'>,
  sourceType: SourceType,
  typeMapped: boolean,
  rules: readonly EnrichmentRule[],
): string[] {
  const tags = new Set<string>(typeMapped ? [] : [UNMAPPED_TYPE_TAG]);
  for (const rule of rules) if (matches(rule, asset, sourceType)) tags.add(rule.tag);
  return [...tags].sort(byCodePoint);
}
