import type pg from 'pg';
import { IncidentEvent } from '../lib/incidents/contracts.js';
import { decodeEvent, keyedBy } from '../lib/kafka/decodeEvent.js';
import { runSearchAttributes } from '../lib/temporal/searchAttributes.js';
import { incidentKey } from '../lib/kafka/topics.js';
import { incidentWorkflowId } from '../lib/temporal/workflowIds.js';
import { incidentEventSignal, incidentLifecycle } from '../workflows/index.js';
import { createTopicBridge, type Bridge, type BridgeDependencies, type BridgeOptions } from './topicBridge.js';

/**
 * Incident events (from the webhook receiver or any producer) signal their incident's workflow, starting it when
 * it is not running: one workflow per tenant and incident, fed in the order of the incident's partition.
 */
export function createIncidentBridge(
  deps: BridgeDependencies & { postgres: pg.Pool },
  groupId = `${deps.config.kafka.groupPrefix}-incident-bridge`,
  options: BridgeOptions = {},
): Bridge {
  const { config, temporal } = deps;
  return createTopicBridge(
    deps,
    {
      kind: 'incidents',
      groupId,
      decode: (message, topicTenant) =>
        decodeEvent(
          IncidentEvent,
          keyedBy((event) => incidentKey(event.tenant, event.payload.incidentId)),
          message,
          config.kafka.maxMessageBytes,
          topicTenant,
        ),
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
    },
    options,
  );
}
