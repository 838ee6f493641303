import { createHash } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { annotationChangeSignal, assetPropagation, type propagateChange } from '../workflows/propagation.js';
import type { TenantId } from '../lib/platform/ids.js';
import type { AnnotationChange } from '../lib/propagation/contracts.js';
import type { Config } from '../lib/platform/config.js';
import { runSearchAttributes } from '../lib/temporal/searchAttributes.js';
import { changeWorkflowId, propagationWorkflowId } from '../lib/temporal/workflowIds.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export const assetPropagationId = (tenant: TenantId, qualifiedName: string): string =>
  propagationWorkflowId(tenant, qualifiedName, sha256);

/**
 * Hands a change to its asset's propagation workflow, starting the workflow if it is not running. The one way in
 * for the command bridge, the HTTP API and the starter alike. Returns the id of the workflow that walks the change.
 */
export async function requestAnnotation(
  temporal: Client,
  config: Config['temporal'],
  tenant: TenantId,
  change: AnnotationChange,
  changeId: string,
): Promise<{ propagationWorkflowId: string; changeWorkflowId: string }> {
  const workflowId = assetPropagationId(tenant, change.qualifiedName);
  await temporal.workflow.signalWithStart(assetPropagation, {
    workflowId,
    taskQueue: config.taskQueue,
    args: [{ tenant, qualifiedName: change.qualifiedName }],
    signal: annotationChangeSignal,
    signalArgs: [{ change, changeId }],
    typedSearchAttributes: runSearchAttributes(tenant, 'propagation'),
  });
  return { propagationWorkflowId: workflowId, changeWorkflowId: changeWorkflowId(tenant, changeId) };
}

/**
 * The outcome of a requested change, once its walk ends. The walk starts when its asset's workflow gets to it
 * (after the changes queued before it), so until then there is nothing to wait on: poll.
 */
export async function changeOutcome(temporal: Client, workflowId: string, timeoutMs = 10 * 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await temporal.workflow.getHandle<typeof propagateChange>(workflowId).result();
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
