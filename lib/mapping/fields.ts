import type { RawRecord } from '../ingest/contracts.js';
import type { SourceRules } from './rules.js';
import { asOrdinal, asText, controlCharacter, isBlank, typeText, type AttributeValue } from './values.js';

export interface MappedFields {
  sourceDataType: string | null;
  nullable: boolean | null;
  defaultValue: string | null;
  ordinal: number | null;
  comment: string | null;
}

type Attributes = RawRecord['attributes'];
type FieldRule = { from: string[]; blankAsNull?: boolean | undefined };

/** The first attribute of the rule's list that is set (and, with blankAsNull, not blank). */
function pick(
  attributes: Attributes,
  rule: FieldRule | undefined,
): { attribute: string; value: AttributeValue } | null {
  for (const attribute of rule?.from ?? []) {
    const value = Object.hasOwn(attributes, attribute) ? attributes[attribute] : null;
    if (value === null || value === undefined) continue;
    if (rule?.blankAsNull && typeof value === 'string' && isBlank(value)) continue;
    return { attribute, value };
  }
  return null;
}

/** The asset fields the source's field rules feed, or the reason a value can't be used. */
export function readFields(attributes: Attributes, fields: SourceRules['fields']): MappedFields | string {
  const dataType = pick(attributes, fields.dataType);
  const sourceDataType = dataType && asText(dataType.value);
  const control = sourceDataType === null ? null : controlCharacter(typeText(sourceDataType));
  if (dataType && control) return `${dataType.attribute} contains a control character (${control})`;

  const nullable = pick(attributes, fields.nullable);
  let nullableValue: boolean | null = null;
  if (nullable && typeof nullable.value === 'boolean') nullableValue = nullable.value;
  else if (nullable) {
    const text = asText(nullable.value) ?? '';
    const values = fields.nullable?.values ?? {};
    if (!Object.hasOwn(values, text)) return `nullable: unexpected value "${text}" in ${nullable.attribute}`;
    nullableValue = values[text] ?? null;
  }

  const ordinal = pick(attributes, fields.ordinal);
  const ordinalValue = ordinal ? asOrdinal(ordinal.value) : null;
  if (ordinal && ordinalValue === undefined) {
    return `ordinal: expected a whole number from -2147483648 to 2147483647 in ${ordinal.attribute}, got "${asText(ordinal.value)}"`;
  }

  const defaultValue = pick(attributes, fields.defaultValue);
  const comment = pick(attributes, fields.comment);
  return {
    sourceDataType,
    nullable: nullableValue,
    defaultValue: defaultValue && asText(defaultValue.value),
    ordinal: ordinalValue ?? null,
    comment: comment && asText(comment.value),
  };
}
