import { MONTE_CARLO_NAMES } from './contracts.js';
import { qualifiedName, type MappingContext, type RuleSet } from '../../mapping/index.js';

/**
 * Monte Carlo's names for a table (README.md): a full table id `db:schema.table`, an anomaly incident's group id
 * `db:schema` with a table name, or an MCON `MCON++<account>++<resource>++<type>++<object id>` whose object id is
 * the full table id. A name may be wrapped in double quotes or backticks (doubled inside), so it can hold `:` or
 * `.`; the quotes are not part of it. Case is kept as Monte Carlo sends it: the connection's rules decide it.
 */

/** A table (or view) as Monte Carlo names it, before any MetaSync connection is chosen. */
export interface MonteCarloTableRef {
  database: string;
  schema: string;
  table: string;
}

export interface MonteCarloMcon {
  accountId: string;
  resourceId: string;
  objectType: string;
  objectId: string;
}

/** MCON object types whose object id is a full table id. */
const TABLE_OBJECT_TYPES = new Set(['table', 'view']);

function unquote(name: string): string {
  const quote = name[0];
  if (quote !== '"' && quote !== '`') return name;
  return name.slice(1, -1).replaceAll(quote + quote, quote);
}

/** `db:schema.table`, e.g. a custom rule's `comparisons[].full_table_id`; null when it is not one. */
export function parseFullTableId(fullTableId: string): MonteCarloTableRef | null {
  const match = MONTE_CARLO_NAMES.fullTableId.exec(fullTableId);
  if (!match) return null;
  const [, database = '', schema = '', table = ''] = match;
  return { database: unquote(database), schema: unquote(schema), table: unquote(table) };
}

/** Quotes a name only when it must be, so formatting then parsing gives the same names back. */
function quoteIfNeeded(name: string, separators: string): string {
  const plain = !/^["`]/.test(name) && ![...separators].some((separator) => name.includes(separator));
  return plain ? name : `"${name.replaceAll('"', '""')}"`;
}

/** `db:schema.table` for these names: Monte Carlo's spelling whenever the names hold no `:`, `.` or leading quote. */
export const formatFullTableId = (ref: MonteCarloTableRef): string =>
  `${quoteIfNeeded(ref.database, ':')}:${quoteIfNeeded(ref.schema, '.')}.${quoteIfNeeded(ref.table, '')}`;

/** An anomaly incident's `group_id` (`db:schema`) with one of its events' `table_name`. */
export function parseGroupTable(groupId: string, tableName: string): MonteCarloTableRef | null {
  const group = MONTE_CARLO_NAMES.groupId.exec(groupId);
  if (!group || !MONTE_CARLO_NAMES.tableName.test(tableName)) return null;
  const [, database = '', schema = ''] = group;
  return { database: unquote(database), schema: unquote(schema), table: unquote(tableName) };
}

/** Read as pycarlo's MCONParser reads it: split at the first four `++`, so the object id may hold `++` itself. */
export function parseMcon(mcon: string): MonteCarloMcon | null {
  const match = MONTE_CARLO_NAMES.mcon.exec(mcon);
  if (!match) return null;
  const [, accountId = '', resourceId = '', objectType = '', objectId = ''] = match;
  return { accountId, resourceId, objectType, objectId };
}

/** The table an MCON names, or null when it names something else (a field, a project, a dataset...). */
export function tableRefFromMcon(mcon: string): MonteCarloTableRef | null {
  const parsed = parseMcon(mcon);
  if (!parsed || !TABLE_OBJECT_TYPES.has(parsed.objectType.toLowerCase())) return null;
  return parseFullTableId(parsed.objectId);
}

/** Any of the single-string forms: an MCON or a full table id. */
export const parseTableIdentifier = (identifier: string): MonteCarloTableRef | null =>
  identifier.startsWith('MCON++') ? tableRefFromMcon(identifier) : parseFullTableId(identifier);

/**
 * The qualified name ingestion gives this table on `connection`, so an incident attaches to the ingested asset.
 * The path is the last names of (database, schema, table) that the source's table paths hold: a MySQL table is
 * `database/table`, MySQL's database being what Monte Carlo calls the schema. Names are cased by the source's
 * rules, so pass the rules the tenant's runs apply (`effectiveRules`), which may override the default case.
 */
export function qualifiedNameFor(
  ref: MonteCarloTableRef,
  connection: MappingContext,
  rules: Pick<RuleSet, 'sources'>,
): string {
  const source = rules.sources[connection.sourceType];
  const depth = source.paths.table;
  if (depth === undefined || depth > 3) {
    throw new Error(`a ${connection.sourceType} source has no table paths of 1 to 3 names`);
  }
  const path = [ref.database, ref.schema, ref.table].slice(3 - depth);
  return qualifiedName(connection, 'table', path, source.nameCase);
}
