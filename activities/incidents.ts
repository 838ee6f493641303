import type { S3Client } from '@aws-sdk/client-s3';
import cassandra from 'cassandra-driver';
import type { Producer } from 'kafkajs';
import type pg from 'pg';
import pLimit from 'p-limit';
import type {
  IncidentBatchOutcome,
  IncidentDelivery,
  IncidentEvent,
  IncidentRecord,
  IncidentSignal,
  IncidentSummary,
} from '../lib/incidents/contracts.js';
import { applyIncidentEvent, applyIncidentEvents, groupByIncident } from '../lib/incidents/applyEvent.js';
import { inTraces } from '../lib/platform/messageTraces.js';
import { deadLetter } from '../lib/kafka/deadLetters.js';
import { effectiveRules } from '../lib/mapping/tenantRules.js';
import { MONTE_CARLO_EVENT_SOURCE, qualifiedNameFor } from '../lib/incidents/monteCarlo/index.js';
import { incidentSourceLabel, metrics, tenantLabel } from '../lib/platform/metrics.js';
import { connectionOfMonteCarloAccount } from '../lib/stores/monteCarlo.js';
import type { IncidentStore } from '../lib/stores/incidents.js';
import { incidentKey } from '../lib/kafka/topics.js';

/** Cassandra's limit on a partition key's size. */
const MAX_KEY_BYTES = 65_535;

/** Cassandra refusing the statement itself (e.g. a key over 64 KiB): the same write will never succeed. */
const isInvalidRequest = (error: unknown) =>
  error instanceof cassandra.errors.ResponseError &&
  Number(error.code) === Number(cassandra.types.responseErrorCodes.invalid);

/** An incident the lake will never take: its events are dead-lettered with this reason. */
class RefusedIncident extends Error {}

/** Incidents of one batch written at once: enough to keep Cassandra busy without queueing in the driver. */
const INCIDENTS_AT_ONCE = 16;

export function createIncidentActivities(deps: {
  postgres: pg.Pool;
  incidents: IncidentStore;
  s3: S3Client;
  bucket: string;
  producer: Producer;
}) {
  /**
   * The tables of a tenant's incidents as qualified names. The control plane is read once per batch and account, and
   * from the start, beside the lake's reads (the accounts of the batch's events are known before their incidents are).
   */
  function namerFor(tenant: string, accounts: readonly string[]) {
    /** Looked up now, awaited when naming: a failure surfaces there (and not as an unhandled rejection meanwhile). */
    const early = <T>(promise: Promise<T>) => {
      promise.catch(() => undefined);
      return promise;
    };
    const rules = early(effectiveRules(deps.postgres, tenant));
    const connections = new Map<string, ReturnType<typeof connectionOfMonteCarloAccount>>();
    const connectionOf = (account: string) => {
      if (!connections.has(account)) {
        connections.set(account, early(connectionOfMonteCarloAccount(deps.postgres, tenant, account)));
      }
      return connections.get(account)!;
    };
    for (const account of accounts) void connectionOf(account);
    return async (record: IncidentRecord): Promise<IncidentRecord> => {
      const account = record.monteCarloAccountId;
      const connection = account ? await connectionOf(account) : undefined;
      if (!connection) {
        return { ...record, qualifiedNames: [], unmappedTables: record.tables.map((table) => table.fullTableId) };
      }
      const ruleSet = await rules;
      const named = record.tables.map((table) => qualifiedNameFor(table, connection, ruleSet));
      return { ...record, qualifiedNames: [...new Set(named)], unmappedTables: [] };
    };
  }

  /** Writes the incident's whole state (an upsert: a retry or replay writes the same rows). */
  async function save(tenant: string, record: IncidentRecord, before: IncidentRecord | null): Promise<void> {
    const tooLong = record.qualifiedNames.find((name) => Buffer.byteLength(name) > MAX_KEY_BYTES);
    if (tooLong !== undefined) {
      throw new RefusedIncident(
        `Cassandra refused the incident: a qualified name of ${Buffer.byteLength(tooLong)} bytes is over its ${MAX_KEY_BYTES}-byte key limit`,
      );
    }
    try {
      await deps.incidents.save(tenant, record, before);
    } catch (error) {
      if (isInvalidRequest(error))
        throw new RefusedIncident(`Cassandra refused the incident: ${(error as Error).message}`);
      throw error;
    }
  }

  /** Applies and saves events one at a time, leaving out those whose incident the lake refuses. */
  async function saveOneByOne(
    tenant: string,
    name: (record: IncidentRecord) => Promise<IncidentRecord>,
    before: IncidentRecord | null,
    events: IncidentEvent[],
  ) {
    let record = before;
    const applied: IncidentEvent[] = [];
    const refused: IncidentBatchOutcome['refused'] = [];
    for (const event of events) {
      const named = await name(applyIncidentEvent(record, event));
      try {
        await save(tenant, named, record);
      } catch (error) {
        if (!(error instanceof RefusedIncident)) throw error;
        refused.push({ eventId: event.id, reason: error.message });
        continue;
      }
      record = named;
      applied.push(event);
    }
    return { saved: record && applied.length > 0 ? { record, applied } : undefined, refused };
  }

  function observeLatency(deliveries: readonly IncidentDelivery[]): void {
    for (const { event, origin } of deliveries) {
      if (origin.timestamp === undefined) continue;
      const source = incidentSourceLabel(event.source === MONTE_CARLO_EVENT_SOURCE ? 'monte-carlo-webhook' : 'kafka');
      metrics.incidentLatency.observe({ source }, Math.max(0, (Date.now() - Number(origin.timestamp)) / 1000));
    }
  }

  return {
    /**
     * Applies a partition's events to their incidents and writes each incident once, with every asset it concerns:
     * the incident is read from the lake, its events applied in order (those it already has are passed over, so a
     * retry or a redelivery changes nothing), its tables named as assets of the connection its Monte Carlo account
     * maps to, and its whole state upserted. Incidents are independent, so they are written side by side.
     */
    async applyIncidentEvents(input: {
      tenant: string;
      deliveries: IncidentDelivery[];
    }): Promise<IncidentBatchOutcome> {
      const { tenant, deliveries } = input;
      const groups = [...groupByIncident(deliveries).entries()];
      const attributes = {
        'metasync.tenant': tenant,
        'metasync.events': deliveries.length,
        'metasync.incident_ids': groups.slice(0, 20).map(([incidentId]) => incidentId),
      };
      return inTraces(
        deliveries.map(({ trace }) => trace),
        'incident events applied',
        attributes,
        async () => {
          const accounts = new Set(deliveries.map(({ event }) => event.payload.monteCarloAccountId));
          const name = namerFor(tenant, [...accounts]);
          const outcome: IncidentBatchOutcome = { applied: 0, redelivered: 0, refused: [], incidents: [] };
          const limit = pLimit(INCIDENTS_AT_ONCE);
          await Promise.all(
            groups.map(([incidentId, group]) =>
              limit(async () => {
                const before = (await deps.incidents.get(tenant, incidentId)) ?? null;
                const events = group.map(({ event }) => event);
                const { record, applied, redelivered } = applyIncidentEvents(before, events);
                outcome.redelivered += redelivered.length;
                if (!record || applied.length === 0) return;
                let named = await name(record);
                try {
                  await save(tenant, named, before);
                } catch (error) {
                  if (!(error instanceof RefusedIncident)) throw error;
                  // Which event the lake refuses, and the incident without it: one event and one save at a time.
                  const { saved, refused } = await saveOneByOne(tenant, name, before, applied);
                  outcome.refused.push(...refused);
                  if (!saved) return;
                  named = saved.record;
                  applied.splice(0, applied.length, ...saved.applied);
                }
                outcome.applied += applied.length;
                outcome.incidents.push(summaryOf(named));
                metrics.incidentsApplied.inc({ tenant: tenantLabel(tenant) }, applied.length);
                const appliedIds = new Set(applied.map((event) => event.id));
                observeLatency(group.filter(({ event }) => appliedIds.has(event.id)));
              }),
            ),
          );
          return outcome;
        },
      );
    },

    /** Events no retry can apply: kept on the dead-letter topic and in S3, with the reason, and skipped. */
    async deadLetterIncidentEvents(input: { deliveries: IncidentSignal[]; reason: string }): Promise<void> {
      for (const { event, origin } of input.deliveries) {
        await deadLetter(deps.s3, deps.bucket, deps.producer, {
          ...origin,
          key: Buffer.from(incidentKey(event.tenant, event.payload.incidentId)),
          value: Buffer.from(JSON.stringify(event)),
          tenant: event.tenant,
          reason: input.reason,
        });
      }
    },
  };
}

const summaryOf = (record: IncidentRecord): IncidentSummary => ({
  incidentId: record.incidentId,
  status: record.status,
  eventsApplied: record.eventsApplied,
  updatedAt: record.updatedAt,
  qualifiedNames: record.qualifiedNames.length,
  unmappedTables: record.unmappedTables.length,
});
