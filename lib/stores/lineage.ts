import type cassandra from 'cassandra-driver';
import type { LineageEdge } from '../lineage/contracts.js';
import { chunked, concurrentRunner, KEYS_PER_IN, rowStream } from './cql.js';

/** An edge's identity: one origin's statement that data flows from upstream to downstream. */
export type EdgeKey = Pick<LineageEdge, 'upstream' | 'downstream' | 'origin'>;

/** A downstream row as the propagation walk reads it. */
export type DownstreamEdge = Omit<LineageEdge, 'upstream'>;
export type UpstreamEdge = Omit<LineageEdge, 'downstream' | 'downstreamType'>;

export interface Page<T> {
  items: T[];
  /** Pass back to read the next page; null after the last. */
  next: string | null;
}

const UPSERT_DOWNSTREAM = `INSERT INTO lineage_downstream (tenant, upstream, downstream, origin, level, kind, propagates,
  transformation, downstream_type, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, toTimestamp(now()))`;
const UPSERT_UPSTREAM = `INSERT INTO lineage_upstream (tenant, downstream, upstream, origin, level, kind, propagates,
  transformation, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, toTimestamp(now()))`;
const DELETE_DOWNSTREAM =
  'DELETE FROM lineage_downstream WHERE tenant = ? AND upstream = ? AND downstream = ? AND origin = ?';
const DELETE_UPSTREAM =
  'DELETE FROM lineage_upstream WHERE tenant = ? AND downstream = ? AND upstream = ? AND origin = ?';
const SELECT_DOWNSTREAM = `SELECT downstream, origin, level, kind, propagates, transformation, downstream_type
  FROM lineage_downstream WHERE tenant = ? AND upstream = ?`;
const SELECT_DOWNSTREAM_OF_MANY = `SELECT upstream, downstream, origin, level, kind, propagates, transformation,
  downstream_type FROM lineage_downstream WHERE tenant = ? AND upstream IN ?`;
const SELECT_UPSTREAM = `SELECT upstream, origin, level, kind, propagates, transformation
  FROM lineage_upstream WHERE tenant = ? AND downstream = ?`;

/** What both tables hold of an edge besides its two ends. */
const edgeFields = (row: cassandra.types.Row) => ({
  origin: row.get('origin') as string,
  level: row.get('level') as LineageEdge['level'],
  kind: row.get('kind') as LineageEdge['kind'],
  propagates: row.get('propagates') !== false,
  transformation: (row.get('transformation') as string | null) ?? null,
});

/** Edges in the lake, both ways. Every write is an upsert or a delete by primary key: a retry changes nothing. */
export function lineageStore(client: cassandra.Client, concurrencyLevel = 64) {
  const run = concurrentRunner(client, concurrencyLevel);
  const page = async (query: string, parameters: unknown[], pageSize: number, pageState: string | null) => {
    const result = await client.execute(query, parameters, {
      prepare: true,
      fetchSize: pageSize,
      ...(pageState ? { pageState } : {}),
    });
    return { rows: result.rows, next: result.pageState ?? null };
  };

  return {
    async upsertEdges(tenant: string, edges: readonly LineageEdge[]): Promise<void> {
      await run(
        UPSERT_DOWNSTREAM,
        edges.map((e) => [
          tenant,
          e.upstream,
          e.downstream,
          e.origin,
          e.level,
          e.kind,
          e.propagates,
          e.transformation,
          e.downstreamType,
        ]),
      );
      await run(
        UPSERT_UPSTREAM,
        edges.map((e) => [tenant, e.downstream, e.upstream, e.origin, e.level, e.kind, e.propagates, e.transformation]),
      );
    },

    async deleteEdges(tenant: string, edges: readonly EdgeKey[]): Promise<void> {
      await run(
        DELETE_DOWNSTREAM,
        edges.map((e) => [tenant, e.upstream, e.downstream, e.origin]),
      );
      await run(
        DELETE_UPSTREAM,
        edges.map((e) => [tenant, e.downstream, e.upstream, e.origin]),
      );
    },

    /** One page of what flows out of `upstream`, every origin's row apart. */
    async downstreamOf(
      tenant: string,
      upstream: string,
      pageSize = 5_000,
      pageState: string | null = null,
    ): Promise<Page<DownstreamEdge>> {
      const { rows, next } = await page(SELECT_DOWNSTREAM, [tenant, upstream], pageSize, pageState);
      return {
        items: rows.map((row) => ({
          downstream: row.get('downstream') as string,
          ...edgeFields(row),
          downstreamType: (row.get('downstream_type') as string | null) ?? null,
        })),
        next,
      };
    },

    /**
     * Every edge out of the given upstreams (the propagation walk's next step), read with a few queries of many
     * keys each; a handful run at once.
     */
    async downstreamOfMany(tenant: string, upstreams: readonly string[]): Promise<LineageEdge[]> {
      const chunks = chunked(upstreams, KEYS_PER_IN);
      const edges: LineageEdge[] = [];
      const readChunk = async (chunk: string[]) => {
        for await (const row of rowStream(client, SELECT_DOWNSTREAM_OF_MANY, [tenant, chunk])) {
          edges.push({
            upstream: row.get('upstream') as string,
            downstream: row.get('downstream') as string,
            ...edgeFields(row),
            downstreamType: (row.get('downstream_type') as string | null) ?? null,
          });
        }
      };
      for (let i = 0; i < chunks.length; i += 16) await Promise.all(chunks.slice(i, i + 16).map(readChunk));
      return edges;
    },

    /** One page of what flows into `downstream`. */
    async upstreamOf(
      tenant: string,
      downstream: string,
      pageSize = 5_000,
      pageState: string | null = null,
    ): Promise<Page<UpstreamEdge>> {
      const { rows, next } = await page(SELECT_UPSTREAM, [tenant, downstream], pageSize, pageState);
      return {
        items: rows.map((row) => ({ upstream: row.get('upstream') as string, ...edgeFields(row) })),
        next,
      };
    },
  };
}
export type LineageStore = ReturnType<typeof lineageStore>;
