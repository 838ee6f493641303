import type { SourceType } from '../ingest/contracts.js';
import { applyNameCase, containerQualifiedName, encodeSegment } from '../mapping/qualifiedName.js';
import type { NameCase, RuleSet } from '../mapping/rules.js';

/**
 * How lineage names the assets of one MetaSync connection: with the connection's source type, id and name case,
 * so an edge's ends are the very qualified names ingestion gives the tables and columns.
 */
export interface NamingContext {
  sourceType: SourceType;
  connectionId: string;
  nameCase: NameCase;
  /** How many names a table's path has: 3 (database, schema, table), or 2 for MySQL, which has no schema level. */
  tableDepth: number;
}

export function namingContext(
  sourceType: SourceType,
  connectionId: string,
  rules: Pick<RuleSet, 'sources'>,
): NamingContext {
  const source = rules.sources[sourceType];
  const tableDepth = source.paths.table ?? 3;
  if (tableDepth < 1 || tableDepth > 3) throw new Error(`a ${sourceType} source has no table paths of 1 to 3 names`);
  return { sourceType, connectionId, nameCase: source.nameCase, tableDepth };
}

export const relationName = (context: NamingContext, path: readonly string[]): string =>
  containerQualifiedName(context, path, context.nameCase);

/** A column's qualified name: its relation's, then the encoded column name, as ingestion names columns. */
export const columnName = (context: NamingContext, path: readonly string[], column: string): string =>
  `${relationName(context, path)}/${encodeSegment(applyNameCase(column, context.nameCase))}`;

/** The path ingestion gives a table named (database, schema, table): MySQL's drops the schema. */
export const tablePath = (context: NamingContext, database: string, schema: string, table: string): string[] =>
  [database, schema, table].slice(3 - context.tableDepth);
