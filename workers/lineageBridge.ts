import type cassandra from 'cassandra-driver';
import type pg from 'pg';
import { OpenLineageReceived, type LineageEdge } from '../lib/lineage/contracts.js';
import { decodeEvent, keyedBy } from '../lib/kafka/decodeEvent.js';
import { datasetResolver, openLineageEdges, type DatasetResolver } from '../lib/lineage/openLineage.js';
import { effectiveRules } from '../lib/mapping/tenantRules.js';
import { listConnectionEndpoints } from '../lib/stores/connections.js';
import { lineageStore } from '../lib/stores/lineage.js';
import { lineageKey } from '../lib/kafka/topics.js';
import { createTopicBridge, type Bridge, type BridgeDependencies, type BridgeOptions } from './topicBridge.js';

/** A tenant's connections and rules are read again after this long, so a new connection is soon recognized. */
const TENANT_CACHE_MS = 60_000;

/**
 * OpenLineage run events (from the HTTP API or any producer) become edges in the lake, written straight to
 * Cassandra a chunk of a partition's events at a time: an upsert per edge, so a replayed event changes nothing. An event of an unknown tenant, or whose
 * datasets cannot be named in the lake, is dead-lettered with the reason.
 */
export function createLineageBridge(
  deps: BridgeDependencies & { postgres: pg.Pool; cassandra: cassandra.Client },
  groupId = `${deps.config.kafka.groupPrefix}-lineage-bridge`,
  options: BridgeOptions = {},
): Bridge {
  const { config } = deps;
  const store = lineageStore(deps.cassandra);
  const tenants = new Map<string, { until: number; resolve: DatasetResolver }>();
  // admit names the edges (a reason to refuse the event if it cannot); deliver writes what admit named.
  const named = new WeakMap<OpenLineageReceived, LineageEdge[]>();

  async function resolverOf(tenant: string): Promise<DatasetResolver> {
    const cached = tenants.get(tenant);
    if (cached && cached.until > Date.now()) return cached.resolve;
    const [connections, rules] = await Promise.all([
      listConnectionEndpoints(deps.postgres, tenant),
      effectiveRules(deps.postgres, tenant),
    ]);
    const resolve = datasetResolver(connections, rules);
    tenants.set(tenant, { until: Date.now() + TENANT_CACHE_MS, resolve });
    return resolve;
  }

  return createTopicBridge(
    deps,
    {
      kind: 'lineage',
      groupId,
      decode: (message, topicTenant) =>
        decodeEvent(
          OpenLineageReceived,
          keyedBy((event) => lineageKey(event.tenant, event.payload.job)),
          message,
          config.kafka.maxMessageBytes,
          topicTenant,
        ),
      async admit(event) {
        const resolve = await resolverOf(event.tenant);
        const edges = openLineageEdges(event.payload, resolve);
        if (!edges.ok) return edges.reason;
        named.set(event, edges.edges);
        return undefined;
      },
      // A chunk of a partition's events at once: their edges in one concurrent write, in the order of the events
      // (the driver stamps each write in call order, so a later event's edge wins).
      async deliverBatch(deliveries) {
        const edges = deliveries.flatMap(({ event }) => named.get(event) ?? []);
        await store.upsertEdges(deliveries[0]!.event.tenant, edges);
      },
    },
    options,
  );
}
