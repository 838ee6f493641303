import { z } from 'zod';
import type { LineageEdge } from '../../lib/lineage/contracts.js';
import { pad } from './format.js';

/** The lineage graphs bench:propagate walks, built in memory and written as OpenLineage edges. */

export const Shape = z.enum(['wide', 'deep', 'tree']);
export type Shape = z.infer<typeof Shape>;

export interface Graph {
  source: string;
  edges: LineageEdge[];
  /** Every asset the value should reach, the source left out. */
  downstream: string[];
  /** The deepest level. */
  depth: number;
}

export const edge = (upstream: string, downstream: string): LineageEdge => ({
  upstream,
  downstream,
  level: 'column',
  kind: 'openlineage',
  origin: 'openlineage:bench/propagate',
  propagates: true,
  transformation: null,
  downstreamType: 'column',
});

/**
 * `n` downstream assets, the last ones named after `sample` (the downstream table's columns, which sort after the
 * others, so a wide level's last slice holds them).
 * - wide: one source, n direct downstreams.
 * - deep: `chains` chains of n / chains each under the source.
 * - tree: fan-out by 10 over a few levels (up to n / 100 assets wide), a chain of 5 under each, and the rest of
 *   the assets as leaves spread over the chains' ends.
 */
export function buildGraph(shape: Shape, n: number, sample: readonly string[], chains: number): Graph {
  const prefix = `bench://${shape}-${n}`;
  const source = `${prefix}/source`;
  const edges: LineageEdge[] = [];
  let depth = 0;
  if (shape === 'wide') {
    for (let i = 0; i < n; i++) edges.push(edge(source, `${prefix}/a${pad(i)}`));
    depth = 1;
  } else if (shape === 'deep') {
    const count = Math.min(chains, n);
    for (let c = 0; c < count; c++) {
      const length = Math.floor(n / count) + (c < n % count ? 1 : 0);
      let upstream = source;
      for (let h = 0; h < length; h++) {
        const downstream = `${prefix}/c${pad(c, 4)}/h${pad(h)}`;
        edges.push(edge(upstream, downstream));
        upstream = downstream;
      }
      depth = Math.max(depth, length);
    }
  } else {
    let level = [source];
    let placed = 0;
    for (let width = 10; width <= Math.max(10, n / 100); width *= 10) {
      const next: string[] = [];
      level.forEach((upstream, u) => {
        for (let k = 0; k < 10; k++) {
          const downstream = `${prefix}/f${depth + 1}/n${pad(u * 10 + k)}`;
          edges.push(edge(upstream, downstream));
          next.push(downstream);
        }
      });
      placed += next.length;
      level = next;
      depth++;
    }
    const chainLength = Math.max(0, Math.min(5, Math.floor((n - placed - sample.length) / level.length)));
    level = level.map((head, i) => {
      let upstream = head;
      for (let h = 0; h < chainLength; h++) {
        const downstream = `${prefix}/c${pad(i)}/h${pad(h, 2)}`;
        edges.push(edge(upstream, downstream));
        upstream = downstream;
      }
      return upstream;
    });
    placed += level.length * chainLength;
    depth += chainLength + 1;
    for (let i = 0; placed < n; i++, placed++) edges.push(edge(level[i % level.length]!, `${prefix}/l${pad(i)}`));
  }
  // The sample takes the place of the last chains' ends (deep) or of the last leaves (wide, tree).
  const ends = edges.flatMap((e, i) => (shape !== 'deep' || edges[i + 1]?.upstream !== e.downstream ? [i] : []));
  if (ends.length < sample.length) throw new Error(`a ${shape} graph of ${n} has fewer than ${sample.length} ends`);
  ends.slice(ends.length - sample.length).forEach((i, k) => (edges[i] = { ...edges[i]!, downstream: sample[k]! }));
  return { source, edges, downstream: edges.map((e) => e.downstream), depth };
}
