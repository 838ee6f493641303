/**
 * How source attribute values become asset fields. Python (spark/metasync_rules.py) mirrors each function;
 * where JavaScript and Python differ by default (number formatting, whitespace, string length), the rule here is
 * spelled out so both produce the same text.
 */

export type AttributeValue = string | number | boolean | null;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/;
const BLANK = /^[ \t\r\n]*$/;

/**
 * The first control character as U+XXXX, or null: C0 and C1 controls, DEL, and the line and paragraph separators
 * (which the two regex engines' `.` treat differently).
 */
export function controlCharacter(text: string): string | null {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029) {
      return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    }
  }
  return null;
}

export const hasLoneSurrogate = (text: string): boolean => LONE_SURROGATE.test(text);

export const isBlank = (text: string): boolean => BLANK.test(text);

/** Unicode code points, not UTF-16 units, so an emoji counts once here and in Python. */
export const codePointLength = (text: string): number => [...text].length;

/**
 * Type text as rules see it: runs of space, tab, CR and LF become one space (JS and Python agree on these four),
 * trimmed, with no space next to brackets and commas: `character varying ( 12 )` reads `character varying(12)`.
 */
export const typeText = (text: string): string =>
  text
    .replace(/[ \t\r\n]+/g, ' ')
    .replace(/^ | $/g, '')
    .replace(/ (?=[()<>,[\]])/g, '')
    .replace(/(?<=[(<,]) /g, '');

/** Numbers as JavaScript prints them (Python reproduces this formatting), booleans as true/false. */
export function asText(value: AttributeValue): string | null {
  if (value === null) return null;
  return typeof value === 'string' ? value : String(value);
}

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/** An ordinal is a whole number (or its decimal text) that fits Cassandra's int; undefined means it is not one. */
export function asOrdinal(value: AttributeValue): number | null | undefined {
  if (value === null) return null;
  let number: number | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) number = value;
  if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) number = Number(value);
  if (number === undefined || number < INT32_MIN || number > INT32_MAX) return undefined;
  return number + 0; // -0 becomes 0
}

/** Code point order (what Python's sort uses), not JavaScript's UTF-16 unit order. */
export const byCodePoint = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
