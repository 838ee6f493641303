import type { LineageEdge } from '../lineage/contracts.js';
import type { Copy, Reached, ResolvedPropagation } from './contracts.js';

/**
 * A path keeps the source and at most this many last hops: a ten-thousand-deep chain must not store ten thousand
 * names on each of its assets. A path is complete when its length is depth + 1.
 */
export const MAX_PATH = 64;

export const extendPath = (path: readonly string[], next: string): string[] =>
  path.length < MAX_PATH ? [...path, next] : [path[0]!, ...path.slice(path.length - MAX_PATH + 2), next];

/**
 * Whether a value crosses from `upstream` to `downstream`, given every origin's row for that pair: a manual
 * non-propagating mark blocks it whatever else says; otherwise one propagating row on an allowed level carries it.
 */
function crosses(rows: readonly LineageEdge[], rule: ResolvedPropagation): boolean {
  if (rows.some((row) => row.kind === 'manual' && !row.propagates)) return false;
  return rows.some((row) => row.propagates && rule.levels.includes(row.level));
}

/**
 * One step of the walk: where a frontier (assets that hold the value at one depth) passes it next, by the rule.
 * Each downstream asset appears once, by the first frontier asset that reaches it; self-edges and assets already
 * in `seen` are left out (cycles end there). Pure, so the rules are tested without a database.
 */
export function nextCopies(
  frontier: readonly Copy[],
  edges: readonly LineageEdge[],
  rule: ResolvedPropagation,
  seen: ReadonlySet<string>,
): Reached[] {
  const byParent = new Map(frontier.map((copy) => [copy.qualifiedName, copy]));
  const rowsByPair = new Map<string, LineageEdge[]>();
  for (const edge of edges) {
    const key = `${edge.upstream}\u0000${edge.downstream}`;
    const rows = rowsByPair.get(key);
    if (rows) rows.push(edge);
    else rowsByPair.set(key, [edge]);
  }
  const next = new Map<string, Reached>();
  for (const rows of rowsByPair.values()) {
    const { upstream, downstream } = rows[0]!;
    const parent = byParent.get(upstream);
    if (!parent || parent.terminal || parent.depth >= rule.maxDepth) continue;
    if (upstream === downstream || seen.has(downstream) || next.has(downstream)) continue;
    if (!crosses(rows, rule)) continue;
    const assetType = rows.find((row) => row.downstreamType !== null)?.downstreamType ?? null;
    if (assetType !== null && rule.excludeAssetTypes.includes(assetType)) continue;
    next.set(downstream, {
      qualifiedName: downstream,
      depth: parent.depth + 1,
      path: extendPath(parent.path, downstream),
      terminal: assetType !== null && rule.stopAtAssetTypes.includes(assetType),
      assetType,
    });
  }
  return [...next.values()];
}
