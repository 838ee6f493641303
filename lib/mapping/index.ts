/** The mapping rules engine: one set of rules (mappings/default.json), read here and by spark/metasync_rules.py. */
export { deriveTags, UNMAPPED_TYPE_TAG } from './enrichment.js';
export { canonicalForm, fingerprint } from './fingerprint.js';
export { mapRecord, mapUntrustedRecord, recordShapeProblem, type MapResult } from './mapRecord.js';
export { mergeRules } from './mergeRules.js';
export { normalizeType, type NormalizedType } from './normalizeType.js';
export { portablePatternProblem } from './patterns.js';
export { containerQualifiedName, encodeSegment, qualifiedName, type MappingContext } from './qualifiedName.js';
export { loadDefaultRules, parseRules, parseRulesOverride, RuleSet, RulesError, RulesOverride } from './rules.js';
