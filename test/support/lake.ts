import assert from 'node:assert/strict';
import type { Client as CassandraClient } from 'cassandra-driver';
import type { RawRecord, SourceType } from '../../lib/ingest/contracts.js';
import { loadDefaultRules, mapRecord } from '../../lib/mapping/index.js';

export interface LakeRow {
  deleted: boolean | null;
  dataType: string | null;
  type: string;
}

/** The qualified names the default rules give `records` (which must all map cleanly). */
export function qualifiedNames(records: RawRecord[], sourceType: SourceType, connectionId: string): string[] {
  const rules = loadDefaultRules();
  return records.map((record) => {
    const mapped = mapRecord(record, { sourceType, connectionId }, rules);
    assert.ok(mapped.ok, `the test estate maps cleanly: ${JSON.stringify(record)}`);
    return mapped.asset.qualifiedName;
  });
}

/** The lake's rows for these qualified names (assets are partitioned by name, so they are looked up, not scanned). */
export async function lakeRows(cassandra: CassandraClient, tenant: string, names: string[]) {
  const rows = new Map<string, LakeRow>();
  for (let i = 0; i < names.length; i += 100) {
    const result = await cassandra.execute(
      'SELECT qualified_name, deleted, data_type, asset_type FROM assets WHERE tenant = ? AND qualified_name IN ?',
      [tenant, names.slice(i, i + 100)],
      { prepare: true },
    );
    for (const row of result.rows) {
      rows.set(row.get('qualified_name') as string, {
        deleted: row.get('deleted') as boolean | null,
        dataType: row.get('data_type') as string | null,
        type: row.get('asset_type') as string,
      });
    }
  }
  return rows;
}
