import type { S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import cassandra from 'cassandra-driver';
import type { Producer } from 'kafkajs';
import type pg from 'pg';
import type { IncidentRecord, IncidentSignal } from '../lib/incidents/contracts.js';
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

export function createIncidentActivities(deps: {
  postgres: pg.Pool;
  incidents: IncidentStore;
  s3: S3Client;
  bucket: string;
  producer: Producer;
}) {
  return {
    /** The incident as the lake has it, for a workflow that starts again after the incident's last one ended. */
    async loadIncident(input: { tenant: string; incidentId: string }): Promise<IncidentRecord | null> {
      return (await deps.incidents.get(input.tenant, input.incidentId)) ?? null;
    },

    /**
     * Names the incident's tables as assets of the connection its Monte Carlo account maps to, and writes the
     * incident onto each of them. The whole state is upserted, so a retry or replay writes the same rows.
     */
    async saveIncident(input: {
      tenant: string;
      record: IncidentRecord;
      /** The event's Kafka timestamp (epoch ms) and source, for the latency from its produce time to its assets. */
      producedAt?: string | undefined;
      eventSource?: string;
    }): Promise<IncidentRecord> {
      const { tenant, record } = input;
      const connection = record.monteCarloAccountId
        ? await connectionOfMonteCarloAccount(deps.postgres, tenant, record.monteCarloAccountId)
        : undefined;
      let saved: IncidentRecord = {
        ...record,
        qualifiedNames: [],
        unmappedTables: record.tables.map((table) => table.fullTableId),
      };
      if (connection) {
        const rules = await effectiveRules(deps.postgres, tenant);
        const named = record.tables.map((table) => qualifiedNameFor(table, connection, rules));
        saved = { ...record, qualifiedNames: [...new Set(named)], unmappedTables: [] };
      }
      const tooLong = saved.qualifiedNames.find((name) => Buffer.byteLength(name) > MAX_KEY_BYTES);
      if (tooLong !== undefined) {
        throw ApplicationFailure.nonRetryable(
          `Cassandra refused the incident: a qualified name of ${Buffer.byteLength(tooLong)} bytes is over its ${MAX_KEY_BYTES}-byte key limit`,
        );
      }
      try {
        await deps.incidents.save(tenant, saved);
      } catch (error) {
        if (isInvalidRequest(error)) {
          throw ApplicationFailure.nonRetryable(`Cassandra refused the incident: ${(error as Error).message}`);
        }
        throw error;
      }
      metrics.incidentsApplied.inc({ tenant: tenantLabel(tenant) });
      if (input.producedAt !== undefined) {
        const source = incidentSourceLabel(
          input.eventSource === MONTE_CARLO_EVENT_SOURCE ? 'monte-carlo-webhook' : 'kafka',
        );
        metrics.incidentLatency.observe({ source }, Math.max(0, (Date.now() - Number(input.producedAt)) / 1000));
      }
      return saved;
    },

    /** An event no retry can apply: kept on the dead-letter topic and in S3, with the reason, and skipped. */
    async deadLetterIncidentEvent(input: IncidentSignal & { reason: string }) {
      const { event, origin, reason } = input;
      await deadLetter(deps.s3, deps.bucket, deps.producer, {
        ...origin,
        key: Buffer.from(incidentKey(event.tenant, event.payload.incidentId)),
        value: Buffer.from(JSON.stringify(event)),
        tenant: event.tenant,
        reason,
      });
    },
  };
}
