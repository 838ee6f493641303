import type cassandra from 'cassandra-driver';
import { chunked, KEYS_PER_IN } from './cql.js';
import { ROOT_PARENT } from './lake.js';
import type { Page } from './lineage.js';

/** Reads of the catalog the lake writer (lake.ts) and the Spark loaders keep: browsing by parent, a table's columns. */

export interface CatalogChild {
  qualifiedName: string;
  assetType: string;
  name: string;
  ordinal: number | null;
  deleted: boolean;
}

export interface CatalogColumn extends CatalogChild {
  dataType: string | null;
  sourceDataType: string | null;
  nullable: boolean | null;
  defaultValue: string | null;
  comment: string | null;
}

/** Where to list: one parent's children, the top-level assets of one connection, or of every connection. */
export type ChildrenOf = { parent: string } | { connection: string } | { roots: true };

const SELECT_CHILDREN = `SELECT qualified_name, asset_type, name, ordinal, deleted FROM assets_by_parent
  WHERE tenant = ? AND parent_qualified_name = ?`;
const SELECT_CHILDREN_BETWEEN = `${SELECT_CHILDREN} AND qualified_name >= ? AND qualified_name < ?`;
const SELECT_ASSET = 'SELECT asset_type, deleted FROM assets WHERE tenant = ? AND qualified_name = ?';
const SELECT_COLUMN_DETAILS = `SELECT qualified_name, data_type, source_data_type, nullable, default_value, comment
  FROM assets WHERE tenant = ? AND qualified_name IN ?`;

/** Page reads that come back thinned by deleted rows are topped up, at most this many times per request. */
const MAX_READS_PER_PAGE = 8;

const childOf = (row: cassandra.types.Row): CatalogChild => ({
  qualifiedName: row.get('qualified_name') as string,
  assetType: row.get('asset_type') as string,
  name: row.get('name') as string,
  ordinal: (row.get('ordinal') as number | null) ?? null,
  deleted: row.get('deleted') === true,
});

export function catalogStore(client: cassandra.Client) {
  /**
   * Up to `limit` rows that `keep` accepts. Cassandra pages before we filter, so a page thinned by skipped rows is
   * topped up from where it ended, asking only for what is missing: the paging state handed out is then exactly
   * where the returned rows end. A page may still come back short (many skipped rows); only a null `next` ends.
   */
  async function pageOf(
    query: string,
    parameters: unknown[],
    limit: number,
    pageState: string | null,
    keep: (row: CatalogChild) => boolean,
  ): Promise<Page<CatalogChild>> {
    const items: CatalogChild[] = [];
    let next = pageState;
    for (let reads = 0; reads < MAX_READS_PER_PAGE && items.length < limit; reads++) {
      const result = await client.execute(query, parameters, {
        prepare: true,
        fetchSize: limit - items.length,
        ...(next ? { pageState: next } : {}),
      });
      items.push(...result.rows.map(childOf).filter(keep));
      next = result.pageState ?? null;
      if (next === null) break;
    }
    return { items, next };
  }

  return {
    /** The asset's type and whether it is deleted; undefined when the catalog never had it. */
    async asset(tenant: string, qualifiedName: string): Promise<{ assetType: string; deleted: boolean } | undefined> {
      const row = (await client.execute(SELECT_ASSET, [tenant, qualifiedName], { prepare: true })).first();
      return row ? { assetType: row.get('asset_type') as string, deleted: row.get('deleted') === true } : undefined;
    },

    /** One page of children, in qualified-name order. */
    children(tenant: string, of: ChildrenOf, limit: number, pageState: string | null, includeDeleted: boolean) {
      const keep = (child: CatalogChild) => includeDeleted || !child.deleted;
      if ('parent' in of) return pageOf(SELECT_CHILDREN, [tenant, of.parent], limit, pageState, keep);
      if ('roots' in of) return pageOf(SELECT_CHILDREN, [tenant, ROOT_PARENT], limit, pageState, keep);
      // A connection's databases are the roots whose names start `<connection>/`: '0' is the byte after '/'.
      const range = [`${of.connection}/`, `${of.connection}0`];
      return pageOf(SELECT_CHILDREN_BETWEEN, [tenant, ROOT_PARENT, ...range], limit, pageState, keep);
    },

    /** One page of a table's columns, in qualified-name order, with what the `assets` rows say of their types. */
    async columns(
      tenant: string,
      table: string,
      limit: number,
      pageState: string | null,
      includeDeleted: boolean,
    ): Promise<Page<CatalogColumn>> {
      const keep = (child: CatalogChild) => child.assetType === 'column' && (includeDeleted || !child.deleted);
      const page = await pageOf(SELECT_CHILDREN, [tenant, table], limit, pageState, keep);
      const details = new Map<string, cassandra.types.Row>();
      for (const names of chunked(
        page.items.map((column) => column.qualifiedName),
        KEYS_PER_IN,
      )) {
        const result = await client.execute(SELECT_COLUMN_DETAILS, [tenant, names], { prepare: true });
        for (const row of result.rows) details.set(row.get('qualified_name') as string, row);
      }
      const items = page.items.map((column) => {
        const row = details.get(column.qualifiedName);
        const field = <T>(name: string) => (row?.get(name) as T | null | undefined) ?? null;
        return {
          ...column,
          dataType: field<string>('data_type'),
          sourceDataType: field<string>('source_data_type'),
          nullable: field<boolean>('nullable'),
          defaultValue: field<string>('default_value'),
          comment: field<string>('comment'),
        };
      });
      return { items, next: page.next };
    },
  };
}
export type CatalogStore = ReturnType<typeof catalogStore>;
