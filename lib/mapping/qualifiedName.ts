import type { RawKind, SourceType } from '../ingest/contracts.js';
import type { NameCase } from './rules.js';

/**
 * Qualified names (mappings/README.md): `<sourceType>://<connectionId>/<seg>/<seg>/...`, each segment
 * percent-encoded (every UTF-8 byte outside A-Z a-z 0-9 . _ ~ - as %XX, uppercase hex), so any name is safe and
 * the result is unambiguous. A foreign key is its table's qualified name + `#fk/` + its encoded name: `#` never
 * appears unencoded in a segment, so it can't collide with a column.
 */

export interface MappingContext {
  sourceType: SourceType;
  connectionId: string;
}

/** encodeURIComponent leaves ! ' ( ) * alone; RFC 3986 unreserved characters are the only ones kept. */
export const encodeSegment = (segment: string): string =>
  encodeURIComponent(segment).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);

/** ASCII letters only, so the result does not depend on either engine's Unicode tables. */
export function applyNameCase(name: string, nameCase: NameCase): string {
  if (nameCase === 'lower') return name.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
  if (nameCase === 'upper') return name.replace(/[a-z]+/g, (letters) => letters.toUpperCase());
  return name;
}

export function containerQualifiedName(
  context: MappingContext,
  path: readonly string[],
  nameCase: NameCase = 'preserve',
): string {
  const segments = path.map((name) => encodeSegment(applyNameCase(name, nameCase)));
  return `${context.sourceType}://${encodeSegment(context.connectionId)}/${segments.join('/')}`;
}

export function qualifiedName(
  context: MappingContext,
  kind: RawKind,
  path: readonly string[],
  nameCase: NameCase = 'preserve',
): string {
  if (kind !== 'foreign_key') return containerQualifiedName(context, path, nameCase);
  const table = containerQualifiedName(context, path.slice(0, -1), nameCase);
  return `${table}#fk/${encodeSegment(applyNameCase(path.at(-1) ?? '', nameCase))}`;
}
