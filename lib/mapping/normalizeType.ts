import type { SourceType } from '../ingest/contracts.js';
import { fullMatch } from './patterns.js';
import type { RuleSet } from './rules.js';
import { typeText } from './values.js';

export interface NormalizedType {
  dataType: string;
  /** False when some part matched no rule and became `unknown`. */
  mapped: boolean;
}

/** Deep enough for any real nesting, and a stop for a rule whose element group captures the whole text. */
const MAX_DEPTH = 8;

/**
 * A source's type name in the common type system: the source's own rules first, then the shared defaults; the
 * first rule that fully matches wins (case-insensitively where the rule says so). No match is `unknown`.
 */
export function normalizeType(sourceDataType: string, source: SourceType, rules: RuleSet, depth = 0): NormalizedType {
  const text = typeText(sourceDataType);
  if (depth > MAX_DEPTH) return { dataType: 'unknown', mapped: false };
  for (const rule of [...rules.types[source], ...rules.types.default]) {
    const match = fullMatch(rule, text);
    if (!match) continue;
    if (rule.element !== undefined) {
      const element = normalizeType(match[rule.element] ?? '', source, rules, depth + 1);
      return { dataType: `${rule.type}<${element.dataType}>`, mapped: element.mapped };
    }
    const params = (rule.params ?? []).map((group) => match[group]).filter((param) => param !== undefined);
    return { dataType: params.length ? `${rule.type}(${params.join(',')})` : rule.type, mapped: true };
  }
  return { dataType: 'unknown', mapped: false };
}
