import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { EstateAssetType, SourceType } from '../ingest/contracts.js';
import { groupCount, portablePatternProblem } from './patterns.js';

/**
 * The mapping rule set (mappings/default.json, documented in mappings/README.md): pure data, read by this engine
 * and by spark/metasync_rules.py. Objects are strict, so a misspelt key is an error rather than a silent no-op.
 */

const Pattern = z
  .strictObject({ pattern: z.string().min(1), flags: z.enum(['', 'i']).default('') })
  .superRefine((value, context) => {
    const problem = portablePatternProblem(value.pattern);
    if (problem) context.addIssue({ code: 'custom', message: `pattern ${JSON.stringify(value.pattern)}: ${problem}` });
  });

const GroupIndex = z.int().min(1).max(9);

/** A source type (after whitespace is collapsed) that fully matches `pattern` becomes `type`. */
const TypeRule = z
  .strictObject({
    pattern: z.string().min(1),
    flags: z.enum(['', 'i']).default(''),
    type: z.string().regex(/^[a-z][a-z0-9_]*(\(\d+(,\d+)*\))?$/, 'a type is a lowercase name, e.g. string or int32'),
    /** Captured groups appended as `type(g1,g2)`; unmatched groups are left out. */
    params: z.array(GroupIndex).optional(),
    /** A group holding an element type, normalized in turn: `type<element>`, e.g. array<int32>. */
    element: GroupIndex.optional(),
  })
  .superRefine((rule, context) => {
    const problem = portablePatternProblem(rule.pattern);
    if (problem) {
      context.addIssue({ code: 'custom', message: `pattern ${JSON.stringify(rule.pattern)}: ${problem}` });
      return;
    }
    if (rule.params && rule.element !== undefined) {
      context.addIssue({ code: 'custom', message: 'a type rule has params or element, not both' });
    }
    const groups = groupCount(rule.pattern);
    for (const index of [...(rule.params ?? []), ...(rule.element === undefined ? [] : [rule.element])]) {
      if (index > groups) {
        context.addIssue({
          code: 'custom',
          message: `group ${index} does not exist in ${JSON.stringify(rule.pattern)}`,
        });
      }
    }
  });

const FieldRule = z.strictObject({
  /** Attributes tried in order; the first one set (and not blank, with blankAsNull) wins. */
  from: z.array(z.string().min(1)).min(1),
  blankAsNull: z.boolean().optional(),
});
const NullableRule = FieldRule.extend({ values: z.record(z.string(), z.boolean()).optional() });

export const MappedField = z.enum(['dataType', 'nullable', 'defaultValue', 'ordinal', 'comment']);
export type MappedField = z.infer<typeof MappedField>;

const Fields = z.strictObject({
  dataType: FieldRule.optional(),
  nullable: NullableRule.optional(),
  defaultValue: FieldRule.optional(),
  ordinal: FieldRule.optional(),
  comment: FieldRule.optional(),
});

export const NameCase = z.enum(['preserve', 'lower', 'upper']);
export type NameCase = z.infer<typeof NameCase>;

const SourceRules = z.strictObject({
  /** Applied to qualified names only (ASCII letters), for sources whose identifiers are case-insensitive. */
  nameCase: NameCase,
  /** How many names the path of each kind has; a kind left out is not expected from the source. */
  paths: z.partialRecord(EstateAssetType, z.int().min(1).max(6)),
  fields: Fields,
  /** Source attribute -> asset property, copied as text. */
  properties: z.record(z.string().min(1), z.string().min(1)),
});

const EnrichmentRule = z.strictObject({
  tag: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9:._/-]*$/, 'a tag is letters, digits and : . _ / -'),
  kinds: z.array(EstateAssetType).optional(),
  sources: z.array(SourceType).optional(),
  name: Pattern.optional(),
  dataType: Pattern.optional(),
  property: z.strictObject({ key: z.string().min(1), in: z.array(z.string()).optional() }).optional(),
});

const Validation = z.strictObject({
  /** In Unicode code points, so both engines count alike. */
  maxNameLength: z.int().min(1).max(65_535),
  required: z.partialRecord(EstateAssetType, z.array(MappedField)),
});

const TypeRulesBySource = z.strictObject({
  default: z.array(TypeRule),
  postgres: z.array(TypeRule),
  mysql: z.array(TypeRule),
  ndjson: z.array(TypeRule),
});

export const RuleSet = z.strictObject({
  version: z.literal(1),
  /** Per source type, tried before the shared `default` list; the first rule that matches wins. */
  types: TypeRulesBySource,
  sources: z.strictObject({ postgres: SourceRules, mysql: SourceRules, ndjson: SourceRules }),
  enrichment: z.array(EnrichmentRule),
  validation: Validation,
});
export type RuleSet = z.infer<typeof RuleSet>;
export type TypeRule = z.infer<typeof TypeRule>;
export type SourceRules = z.infer<typeof SourceRules>;
export type EnrichmentRule = z.infer<typeof EnrichmentRule>;

/** A tenant's changes to the defaults; see mergeRules for how each part combines. */
export const RulesOverride = z.strictObject({
  types: TypeRulesBySource.partial().optional(),
  sources: z
    .strictObject({
      postgres: SourceRules.partial().optional(),
      mysql: SourceRules.partial().optional(),
      ndjson: SourceRules.partial().optional(),
    })
    .optional(),
  enrichment: z.array(EnrichmentRule).optional(),
  validation: Validation.partial().optional(),
});
export type RulesOverride = z.infer<typeof RulesOverride>;

export class RulesError extends Error {
  constructor(what: string, error: z.ZodError) {
    super(`invalid ${what}:\n${z.prettifyError(error)}`);
    this.name = 'RulesError';
  }
}

export function parseRules(value: unknown): RuleSet {
  const parsed = RuleSet.safeParse(value);
  if (!parsed.success) throw new RulesError('mapping rules', parsed.error);
  return parsed.data;
}

export function parseRulesOverride(value: unknown): RulesOverride {
  const parsed = RulesOverride.safeParse(value);
  if (!parsed.success) throw new RulesError('mapping rules override', parsed.error);
  return parsed.data;
}

const defaultRulesFile = new URL('../../mappings/default.json', import.meta.url);

let defaultRules: RuleSet | undefined;

/**
 * The rules that ship with the project. Read and validated once per process: every incident event and every
 * container bucket asks for them. Frozen, because every caller shares the one copy.
 */
export function loadDefaultRules(): RuleSet {
  defaultRules ??= deepFreeze(parseRules(JSON.parse(readFileSync(defaultRulesFile, 'utf8'))));
  return defaultRules;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
