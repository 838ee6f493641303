import type pg from 'pg';
import { IncidentEvent } from '../lib/contracts.js';
import { decodeEvent } from '../lib/decodeEvent.js';
import { runSearchAttributes } from '../lib/searchAttributes.js';
import { tenantExists } from '../lib/stores/tenants.js';
import { incidentKey, topics } from '../lib/topics.js';
import { incidentWorkflowId } from '../lib/workflowIds.js';
import { incidentEventSignal, incidentLifecycle } from '../workflows/index.js';
import { createTopicBridge, type Bridge, type BridgeDependencies } from './topicBridge.js';

/** Known tenants are remembered this long; an unknown one is asked about again each time. */
const TENANT_CACHE_MS = 60_000;

/**
 * Incident events (from the webhook receiver or any producer) signal their incident's workflow, starting it when
 * it is not running: one workflow per tenant and incident, fed in the order of the incident's partition.
 */
export function createIncidentBridge(
  deps: BridgeDependencies & { postgres: pg.Pool },
  groupId = `${deps.config.kafka.groupPrefix}-incident-bridge`,
): Bridge {
  const { config, temporal } = deps;
  const knownUntil = new Map<string, number>();
  return createTopicBridge(deps, {
    topic: topics.incidentsInbound,
    groupId,
    decode: (message) =>
      decodeEvent(IncidentEvent, (event) => incidentKey(event.tenant, event.payload.incidentId), message, config.kafka.maxMessageBytes), // prettier-ignore
    async admit({ tenant }) {
      if ((knownUntil.get(tenant) ?? 0) > Date.now()) return undefined;
      if (!(await tenantExists(deps.postgres, tenant))) return `unknown tenant ${JSON.stringify(tenant)}`;
      knownUntil.set(tenant, Date.now() + TENANT_CACHE_MS);
      return undefined;
    },
    async deliver(event, origin) {
      const { tenant } = event;
      const { incidentId } = event.payload;
      await temporal.workflow.signalWithStart(incidentLifecycle, {
        workflowId: incidentWorkflowId(tenant, incidentId),
        taskQueue: config.temporal.taskQueue,
        args: [{ tenant, incidentId, quietPeriodMs: config.incidents.quietPeriodMs }],
        signal: incidentEventSignal,
        signalArgs: [{ event, origin }],
        // An incident whose workflow ended (resolved, or quiet) starts again and picks up its state from the lake.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        typedSearchAttributes: runSearchAttributes(tenant, 'incident'),
      });
    },
  });
}
