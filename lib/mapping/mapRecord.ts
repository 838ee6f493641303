import { isEstateAssetType, RawKind, RawRecord, type EstateAsset, type SourceType } from '../ingest/contracts.js';
import { deriveTags } from './enrichment.js';
import { readFields, type MappedFields } from './fields.js';
import { fingerprint } from './fingerprint.js';
import { normalizeType } from './normalizeType.js';
import { containerQualifiedName, qualifiedName, type MappingContext } from './qualifiedName.js';
import type { MappedField, RuleSet, SourceRules } from './rules.js';
import { byCodePoint, codePointLength, controlCharacter, hasLoneSurrogate } from './values.js';

export type MapResult =
  | { ok: true; asset: EstateAsset; fingerprint: string }
  /** qualifiedName is set when the path was valid, so a loader can keep the asset it already has. */
  | { ok: false; reason: string; qualifiedName?: string };

const REQUIRED_FIELD: Record<MappedField, keyof MappedFields> = {
  dataType: 'sourceDataType',
  nullable: 'nullable',
  defaultValue: 'defaultValue',
  ordinal: 'ordinal',
  comment: 'comment',
};

/** Why the record's names can't make a qualified name (its shape, its names, its text), or null. */
function recordProblem(record: RawRecord, sourceType: SourceType, source: SourceRules, maxNameLength: number) {
  const strings = [...record.path, ...Object.entries(record.attributes).flat()];
  if (strings.some((value) => typeof value === 'string' && hasLoneSurrogate(value))) {
    return 'record contains invalid Unicode (a lone surrogate)';
  }
  // A lineage record is never an asset: no rule set has paths for it, so it is refused like any kind a source lacks.
  const expected = isEstateAssetType(record.kind) ? source.paths[record.kind] : undefined;
  if (expected === undefined) return `a ${sourceType} source has no ${record.kind} assets`;
  if (record.path.length !== expected) {
    return `a ${sourceType} ${record.kind} needs a path of ${expected} names, got ${record.path.length}`;
  }
  for (const [index, name] of record.path.entries()) {
    if (name === '') return `path[${index}] is empty`;
    const control = controlCharacter(name);
    if (control) return `path[${index}] contains a control character (${control})`;
    const length = codePointLength(name);
    if (length > maxNameLength) {
      return `path[${index}] is ${length} characters long, over the limit of ${maxNameLength}`;
    }
  }
  return null;
}

/** Turns one raw record into an asset of the unified model, or says why it can't. Deterministic, no I/O. */
export function mapRecord(record: RawRecord, context: MappingContext, rules: RuleSet): MapResult {
  const source = rules.sources[context.sourceType];
  const problem = recordProblem(record, context.sourceType, source, rules.validation.maxNameLength);
  if (problem || !isEstateAssetType(record.kind)) return { ok: false, reason: problem ?? 'not an asset' };
  const ownName = qualifiedName(context, record.kind, record.path, source.nameCase);

  const fields = readFields(record.attributes, source.fields);
  if (typeof fields === 'string') return { ok: false, reason: fields, qualifiedName: ownName };
  const missing = (rules.validation.required[record.kind] ?? []).find(
    (field) => fields[REQUIRED_FIELD[field]] === null,
  );
  if (missing) {
    const lookedIn = source.fields[missing]?.from.join(', ') ?? 'no attribute: the source has no rule for it';
    return { ok: false, reason: `${record.kind} has no ${missing} (looked in ${lookedIn})`, qualifiedName: ownName };
  }

  const type = fields.sourceDataType === null ? null : normalizeType(fields.sourceDataType, context.sourceType, rules);
  const properties = Object.fromEntries(
    Object.entries(source.properties).flatMap(([attribute, property]) => {
      const value = Object.hasOwn(record.attributes, attribute) ? record.attributes[attribute] : null;
      return value === null || value === undefined ? [] : [[property, String(value)]];
    }),
  );
  const untagged = {
    qualifiedName: ownName,
    assetType: record.kind,
    name: record.path.at(-1) ?? '',
    parentQualifiedName:
      record.path.length > 1 ? containerQualifiedName(context, record.path.slice(0, -1), source.nameCase) : null,
    dataType: type?.dataType ?? null,
    ...fields,
    properties,
  };
  const asset: EstateAsset = {
    ...untagged,
    tags: deriveTags(untagged, context.sourceType, type?.mapped ?? true, rules.enrichment),
  };
  return { ok: true, asset, fingerprint: fingerprint(asset) };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Why a parsed JSON value is not a RawRecord, in words Python's engine uses too; null when it is one. */
export function recordShapeProblem(value: unknown): string | null {
  if (!isObject(value)) return 'record is not a JSON object';
  const { kind, path, attributes } = value;
  if (typeof kind !== 'string') return 'record has no kind';
  if (!RawKind.safeParse(kind).success) return `unknown kind "${kind}"`;
  if (!Array.isArray(path) || path.length < 1 || path.length > 6 || path.some((name) => typeof name !== 'string')) {
    return 'path must be a list of 1 to 6 names';
  }
  if (!isObject(attributes)) return 'attributes must be an object';
  for (const key of Object.keys(attributes).sort(byCodePoint)) {
    const attribute = attributes[key];
    const scalar = attribute === null || ['string', 'boolean'].includes(typeof attribute);
    if (!scalar && !(typeof attribute === 'number' && Number.isFinite(attribute))) {
      return `attribute "${key}" must be text, a finite number, a boolean or null`;
    }
  }
  return null;
}

/** mapRecord for a value straight from JSON.parse: the shape is checked first, with reasons instead of throws. */
export function mapUntrustedRecord(value: unknown, context: MappingContext, rules: RuleSet): MapResult {
  const problem = recordShapeProblem(value);
  return problem ? { ok: false, reason: problem } : mapRecord(RawRecord.parse(value), context, rules);
}
