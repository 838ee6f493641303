import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { requestAnnotation } from '../control/annotate.js';
import { decodeCommand } from '../lib/kafka/commands.js';
import { runSearchAttributes } from '../lib/temporal/searchAttributes.js';
import { skeletonWorkflowId } from '../lib/temporal/workflowIds.js';
import { skeletonRequested, skeletonRun } from '../workflows/index.js';
import { createTopicBridge, type Bridge, type BridgeDependencies, type BridgeOptions } from './topicBridge.js';

/** Commands start or signal one workflow each; a replayed command signals the run it already started (or is ignored). */
export function createCommandBridge(
  deps: BridgeDependencies,
  groupId = `${deps.config.kafka.groupPrefix}-command-bridge`,
  options: BridgeOptions = {},
): Bridge {
  const { config, temporal } = deps;
  return createTopicBridge(
    deps,
    {
      kind: 'commands',
      groupId,
      decode: ({ key, value }, topicTenant) => decodeCommand(key, value, config.kafka.maxMessageBytes, topicTenant),
      async deliver(command) {
        if (command.type === 'asset.annotation-requested') {
          // Signals are deduplicated by change id in the workflow, so a replayed command changes nothing.
          await requestAnnotation(temporal, config.temporal, command.tenant, command.payload, command.id);
          return;
        }
        const { tenant, payload } = command;
        try {
          await temporal.workflow.signalWithStart(skeletonRun, {
            workflowId: skeletonWorkflowId(tenant, payload.runId),
            taskQueue: config.temporal.taskQueue,
            args: [{ tenant, ...payload }],
            signal: skeletonRequested,
            signalArgs: [{ eventId: command.id }],
            // A finished run is not started again by a replayed command.
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            typedSearchAttributes: runSearchAttributes(tenant, 'skeleton'),
          });
        } catch (error) {
          if (error instanceof WorkflowExecutionAlreadyStartedError) return;
          throw error;
        }
      },
    },
    options,
  );
}
