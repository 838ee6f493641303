import { WithStartWorkflowOperation } from '@temporalio/client';
import type pg from 'pg';
import { IncidentEvent } from '../lib/incidents/contracts.js';
import { decodeEvent, keyedBy } from '../lib/kafka/decodeEvent.js';
import { untraced } from '../lib/platform/messageTraces.js';
import { runSearchAttributes } from '../lib/temporal/searchAttributes.js';
import { incidentKey } from '../lib/kafka/topics.js';
import { incidentPartitionWorkflowId } from '../lib/temporal/workflowIds.js';
import { incidentEventsUpdate, incidentPartition } from '../workflows/index.js';
import { createTopicBridge, type Bridge, type BridgeDependencies, type BridgeOptions } from './topicBridge.js';

/**
 * Incident events (from the webhook receiver or any producer) go to the workflow of their tenant's partition, started
 * when it is not running: each chunk of a partition's events is one update, which returns once they are applied, and
 * the chunk's offsets are committed then.
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
      async deliverBatch(deliveries) {
        const { tenant } = deliveries[0]!.event;
        const { topic, partition } = deliveries[0]!.origin;
        const first = deliveries[0]!.origin.offset;
        const last = deliveries.at(-1)!.origin.offset;
        // Outside the events' traces: the workflow lives on across many events and is not traced as a whole; each
        // event's work is traced in its own trace, which travels in the delivery.
        await untraced(() =>
          temporal.workflow.executeUpdateWithStart(incidentEventsUpdate, {
            args: [{ deliveries }],
            // The same chunk again (a retry after a timeout) is the same update: Temporal answers it once.
            updateId: `${topic}/${partition}/${first}-${last}`,
            startWorkflowOperation: new WithStartWorkflowOperation(incidentPartition, {
              workflowId: incidentPartitionWorkflowId(tenant, partition),
              taskQueue: config.temporal.taskQueue,
              args: [{ tenant, topic, partition, quietPeriodMs: config.incidents.quietPeriodMs }],
              // A partition whose workflow ended (quiet) starts again; its incidents are in the lake.
              workflowIdConflictPolicy: 'USE_EXISTING',
              typedSearchAttributes: runSearchAttributes(tenant, 'incident'),
            }),
          }),
        );
      },
    },
    options,
  );
}
