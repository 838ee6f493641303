import type { Producer } from 'kafkajs';
import type pg from 'pg';
import type { Config } from '../../lib/platform/config.js';
import { IncidentEvent, type IncidentEventPayload } from '../../lib/incidents/contracts.js';
import { mapMonteCarloAccount } from '../../lib/stores/monteCarlo.js';
import { saveConnection } from '../../lib/stores/connections.js';
import { saveTenant } from '../../lib/stores/tenants.js';
import { inboundTopic, incidentMessage } from '../../lib/kafka/topics.js';
import type { IncidentStore } from '../../lib/stores/incidents.js';
import { eventually } from './harness.js';
import { tenantTopics } from './kafka.js';

export const MONTE_CARLO_ACCOUNT = '9a59c6f1-0e3b-4a55-9d0c-2f6a8e4b1c77';

/** A tenant, with its Kafka topics, whose Monte Carlo account maps to an NDJSON connection named `warehouse`. */
export async function tenantWithMonteCarlo(config: Config, postgres: pg.Pool, tenant: string): Promise<void> {
  await saveTenant(postgres, tenant);
  await tenantTopics(config, tenant);
  await saveConnection(postgres, config.secretsKey, tenant, 'warehouse', {
    type: 'ndjson',
    uri: `s3://${config.s3.bucket}/tenants/${tenant}/dumps/estate.ndjson.gz`,
  });
  await mapMonteCarloAccount(postgres, tenant, MONTE_CARLO_ACCOUNT, 'warehouse');
}

/** The n-th event of an incident on analytics:prod.<table>: opened first, then updates (owner-1, owner-2, ...). */
export function incidentEvent(
  tenant: string,
  incidentId: string,
  n: number,
  payload: Partial<IncidentEventPayload> = {},
  table = 'orders',
): IncidentEvent {
  return IncidentEvent.parse({
    id: `${incidentId}-event-${n}`,
    type: n === 0 ? 'incident.opened' : payload.feedback === 'fixed' ? 'incident.resolved' : 'incident.updated',
    version: 1,
    tenant,
    source: 'test',
    occurredAt: new Date(Date.UTC(2026, 10, 24, 12, 0, 0, n)).toISOString(),
    payload: {
      incidentId,
      incidentType: 'open_anomaly_incident',
      monteCarloAccountId: MONTE_CARLO_ACCOUNT,
      tables: [{ fullTableId: `analytics:prod.${table}`, mcon: null, database: 'analytics', schema: 'prod', table }],
      tablesOmitted: 0,
      url: `https://getmontecarlo.com/incidents/${incidentId}`,
      ...(n > 0 && { owner: `owner-${n}@example.com` }),
      ...payload,
    },
  });
}

/** Produces incident events to their tenant's inbound incidents topic (all of one tenant). */
export async function produceIncidentEvents(producer: Producer, events: IncidentEvent[]): Promise<void> {
  if (events.length === 0) return;
  await producer.send({
    topic: inboundTopic(events[0]!.tenant, 'incidents'),
    acks: -1,
    messages: events.map(incidentMessage),
  });
}

/** The incident once the lake has it resolved (the last of its events, applied). */
export function resolvedIncident(
  incidents: IncidentStore,
  tenant: string,
  id: string,
  what: string,
  timeoutMs = 60_000,
) {
  return eventually(
    async () => {
      const found = await incidents.get(tenant, id);
      return found?.status === 'resolved' ? found : undefined;
    },
    timeoutMs,
    what,
  );
}
