import type { RawRecord } from '../../lib/ingest/contracts.js';

export interface EstateShape {
  databases: number;
  schemasPerDatabase: number;
  tablesPerSchema: number;
  columnsPerTable: number;
}

const TYPES = [
  'bigint',
  'integer',
  'character varying(255)',
  'numeric(10,2)',
  'timestamp with time zone',
  'jsonb',
  'boolean',
  'text',
];
const NAMES = ['id', 'customer_email', 'amount', 'created_at', 'payload', 'is_active', 'phone_number', 'notes'];

/**
 * A synthetic estate in the NDJSON dump format (RawRecord lines): containers first, then columns, as the
 * extractors emit them. Deterministic, so a test can compute what must land. About 10% containers when a
 * table has nine or more columns.
 */
export function* generateEstate(shape: EstateShape): Generator<RawRecord> {
  const tables: string[][] = [];
  for (let d = 0; d < shape.databases; d++) {
    const database = `db_${d}`;
    yield { kind: 'database', path: [database], attributes: {} };
    for (let s = 0; s < shape.schemasPerDatabase; s++) {
      const schema = `schema_${s}`;
      yield { kind: 'schema', path: [database, schema], attributes: {} };
      for (let t = 0; t < shape.tablesPerSchema; t++) {
        const path = [database, schema, `table_${t}`];
        tables.push(path);
        yield { kind: 'table', path, attributes: { comment: `table ${t}` } };
      }
    }
  }
  for (const table of tables) {
    for (let c = 0; c < shape.columnsPerTable; c++) yield generatedColumn(table, c);
  }
}

export function generatedColumn(table: string[], ordinal: number): RawRecord {
  const name = ordinal < NAMES.length ? NAMES[ordinal]! : `column_${ordinal}`;
  return {
    kind: 'column',
    path: [...table, name],
    attributes: {
      data_type: TYPES[ordinal % TYPES.length]!,
      nullable: ordinal !== 0,
      ordinal: ordinal + 1,
      comment: null,
    },
  };
}

export function estateSize(shape: EstateShape): { containers: number; columns: number } {
  const schemas = shape.databases * shape.schemasPerDatabase;
  const tables = schemas * shape.tablesPerSchema;
  return { containers: shape.databases + schemas + tables, columns: tables * shape.columnsPerTable };
}
