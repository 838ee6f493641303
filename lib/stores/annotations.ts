import type cassandra from 'cassandra-driver';
import type {
  AnnotationAttribute,
  Copy,
  DepthRange,
  EffectiveAnnotation,
  StoredCopy,
} from '../propagation/contracts.js';
import { chunked, concurrentRunner, KEYS_PER_IN, rowStream } from './cql.js';
import type { Page } from './lineage.js';

const INSERT_COPY = `INSERT INTO annotation_copies (tenant, source, attribute, value, depth, qualified_name, path,
  terminal, change_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const DELETE_COPY = `DELETE FROM annotation_copies
  WHERE tenant = ? AND source = ? AND attribute = ? AND value = ? AND depth = ? AND qualified_name = ?`;
const INSERT_HELD = `INSERT INTO asset_annotations (tenant, qualified_name, attribute, value, source, path, depth,
  change_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, toTimestamp(now()))`;
const DELETE_HELD = `DELETE FROM asset_annotations
  WHERE tenant = ? AND qualified_name = ? AND attribute = ? AND value = ? AND source = ?`;
const SELECT_HOLDERS = `SELECT qualified_name, source, change_id FROM asset_annotations
  WHERE tenant = ? AND qualified_name IN ? AND attribute = ? AND value = ?`;

const COPIES = 'FROM annotation_copies WHERE tenant = ? AND source = ? AND attribute = ? AND value = ?';
const SELECT_ASSET = `SELECT attribute, value, source, path, depth FROM asset_annotations
  WHERE tenant = ? AND qualified_name = ?`;

/**
 * Annotations in the lake: `asset_annotations` says what each asset holds and from which sources;
 * `annotation_copies` lists, per source and value, every asset it reached, by depth.
 */
export function annotationStore(client: cassandra.Client, concurrencyLevel = 128) {
  const run = concurrentRunner(client, concurrencyLevel);
  const toCopy = (row: cassandra.types.Row): StoredCopy => ({
    qualifiedName: row.get('qualified_name') as string,
    depth: row.get('depth') as number,
    path: (row.get('path') as string[] | null) ?? [],
    terminal: row.get('terminal') === true,
    changeId: (row.get('change_id') as string | null) ?? null,
  });

  return {
    /**
     * Which sources give each asset the value, each with the change that last gave it; an asset holding it from
     * none is absent from the map.
     */
    async holders(
      tenant: string,
      qualifiedNames: readonly string[],
      attribute: AnnotationAttribute,
      value: string,
    ): Promise<Map<string, Map<string, string | null>>> {
      const held = new Map<string, Map<string, string | null>>();
      await Promise.all(
        chunked(qualifiedNames, KEYS_PER_IN).map(async (chunk) => {
          for await (const typed of rowStream(client, SELECT_HOLDERS, [tenant, chunk, attribute, value])) {
            const name = typed.get('qualified_name') as string;
            let sources = held.get(name);
            if (!sources) held.set(name, (sources = new Map<string, string | null>()));
            sources.set(typed.get('source') as string, (typed.get('change_id') as string | null) ?? null);
          }
        }),
      );
      return held;
    },

    /** Records where the source's value went; written before the assets hold it, so a retry finds them again. */
    async writeCopies(
      tenant: string,
      source: string,
      attribute: string,
      value: string,
      copies: readonly Copy[],
      changeId: string,
    ) {
      await run(
        INSERT_COPY,
        copies.map((c) => [tenant, source, attribute, value, c.depth, c.qualifiedName, c.path, c.terminal, changeId]),
      );
    },

    async deleteCopies(tenant: string, source: string, attribute: string, value: string, copies: readonly Copy[]) {
      await run(
        DELETE_COPY,
        copies.map((c) => [tenant, source, attribute, value, c.depth, c.qualifiedName]),
      );
    },

    async markHeld(
      tenant: string,
      source: string,
      attribute: string,
      value: string,
      copies: readonly Copy[],
      changeId: string,
    ) {
      await run(
        INSERT_HELD,
        copies.map((c) => [tenant, c.qualifiedName, attribute, value, source, c.path, c.depth, changeId]),
      );
    },

    async unmarkHeld(tenant: string, source: string, attribute: string, value: string, names: readonly string[]) {
      await run(
        DELETE_HELD,
        names.map((name) => [tenant, name, attribute, value, source]),
      );
    },

    /** One page of the assets the source's value reached at one depth, within a range of names. */
    async copiesAt(
      tenant: string,
      source: string,
      attribute: string,
      value: string,
      range: DepthRange,
      pageSize: number,
      pageState: string | null,
    ): Promise<Page<StoredCopy>> {
      const bounds = [
        range.from === null ? '' : ' AND qualified_name >= ?',
        range.to === null ? '' : ' AND qualified_name < ?',
      ];
      const parameters: unknown[] = [tenant, source, attribute, value, range.depth];
      if (range.from !== null) parameters.push(range.from);
      if (range.to !== null) parameters.push(range.to);
      const result = await client.execute(
        `SELECT qualified_name, depth, path, terminal, change_id ${COPIES} AND depth = ?${bounds.join('')}`,
        parameters,
        { prepare: true, fetchSize: pageSize, ...(pageState ? { pageState } : {}) },
      );
      return { items: result.rows.map(toCopy), next: result.pageState ?? null };
    },

    /** Every `step`-th name at a depth (and how many there are), to split a wide level into slices. */
    async sliceBounds(tenant: string, source: string, attribute: string, value: string, depth: number, step: number) {
      const bounds: string[] = [];
      let count = 0;
      const query = `SELECT qualified_name ${COPIES} AND depth = ?`;
      for await (const row of rowStream(client, query, [tenant, source, attribute, value, depth])) {
        if (count % step === 0 && count > 0) bounds.push(row.get('qualified_name') as string);
        count++;
      }
      return { count, bounds };
    },

    /** One page of every copy the source gave, at any depth: what removing the value at the source takes back. */
    async allCopies(
      tenant: string,
      source: string,
      attribute: string,
      value: string,
      pageSize: number,
      pageState: string | null,
    ): Promise<Page<StoredCopy>> {
      const result = await client.execute(
        `SELECT qualified_name, depth, path, terminal, change_id ${COPIES}`,
        [tenant, source, attribute, value],
        { prepare: true, fetchSize: pageSize, ...(pageState ? { pageState } : {}) },
      );
      return { items: result.rows.map(toCopy), next: result.pageState ?? null };
    },

    /** Forgets every copy of the source's value at once: one partition tombstone, not one per asset. */
    async dropCopies(tenant: string, source: string, attribute: string, value: string) {
      await client.execute(`DELETE ${COPIES}`, [tenant, source, attribute, value], { prepare: true });
    },

    /** The values the asset holds, each with every source that gives it, nearest first. */
    async annotationsOf(tenant: string, qualifiedName: string): Promise<EffectiveAnnotation[]> {
      const result = await client.execute(SELECT_ASSET, [tenant, qualifiedName], { prepare: true, fetchSize: 10_000 });
      const byValue = new Map<string, EffectiveAnnotation>();
      for (const row of result.rows) {
        const attribute = row.get('attribute') as EffectiveAnnotation['attribute'];
        const value = row.get('value') as string;
        const key = `${attribute}\u0000${value}`;
        let annotation = byValue.get(key);
        if (!annotation) byValue.set(key, (annotation = { attribute, value, attributions: [] }));
        annotation.attributions.push({
          source: row.get('source') as string,
          path: (row.get('path') as string[] | null) ?? [],
          depth: row.get('depth') as number,
        });
      }
      const annotations = [...byValue.values()];
      for (const a of annotations) a.attributions.sort((x, y) => x.depth - y.depth || x.source.localeCompare(y.source));
      return annotations;
    },
  };
}
export type AnnotationStore = ReturnType<typeof annotationStore>;
