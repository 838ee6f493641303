import type { AssetRecord } from './contracts.js';
import type { TenantId } from '../platform/ids.js';

/**
 * A small, deterministic estate (one database, one schema, N tables of M columns) for the walking skeleton:
 * the same tenant and run always give the same assets, so a retried activity writes the same object.
 */
export function* sampleEstate(
  tenant: TenantId,
  runId: string,
  tables: number,
  columnsPerTable: number,
): Generator<AssetRecord> {
  const database = `sample://${tenant}/skeleton`;
  const schema = `${database}/${runId}`;
  yield asset(database, 'database', 'skeleton', null);
  yield asset(schema, 'schema', runId, database);
  for (let t = 0; t < tables; t++) {
    const table = `${schema}/table_${t}`;
    yield asset(table, 'table', `table_${t}`, schema);
    for (let c = 0; c < columnsPerTable; c++) {
      yield { ...asset(`${table}/column_${c}`, 'column', `column_${c}`, table), dataType: c % 2 ? 'string' : 'int64' };
    }
  }
}

export function sampleEstateSize(tables: number, columnsPerTable: number): number {
  return 2 + tables * (1 + columnsPerTable);
}

function asset(
  qualifiedName: string,
  assetType: AssetRecord['assetType'],
  name: string,
  parentQualifiedName: string | null,
): AssetRecord {
  return { qualifiedName, assetType, name, parentQualifiedName, dataType: null, properties: { origin: 'skeleton' } };
}
