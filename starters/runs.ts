import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { Workflow, WorkflowResultType } from '@temporalio/common';
import type { Config } from '../lib/platform/config.js';
import { workflowUiUrl } from '../control/ingestRuns.js';

/** What every starter does around a run: start it once, say where to watch it, and follow its progress. */

/** Starts the run; a run that already exists (the same request again) is followed instead of started twice. */
export async function startOnce<W extends Workflow>(client: Client, workflow: W, options: WorkflowStartOptions<W>) {
  try {
    await client.workflow.start(workflow, { ...options, workflowIdReusePolicy: 'REJECT_DUPLICATE' });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    console.log(`run ${options.workflowId} already exists; following it`);
  }
}

export function announce(config: Config['temporal'], workflowId: string): void {
  console.log(`workflow ${workflowId}`);
  console.log(`watch it: ${workflowUiUrl(config, workflowId)}`);
}

/**
 * Polls the run's progress query until its result settles, then returns the result (or throws its failure).
 * The query answers from the current execution, through every continue-as-new.
 */
export async function follow<W extends Workflow, P>(
  handle: WorkflowHandle<W>,
  /** The progress now; undefined when there is none to read (not started yet, or between executions). */
  read: () => Promise<P | undefined>,
  onProgress: (progress: P) => void,
  intervalMs = 500,
): Promise<WorkflowResultType<W>> {
  const result = handle.result();
  let settled = false;
  result.then(
    () => (settled = true),
    () => (settled = true),
  );
  // One more query after the result settles, so the last progress shown is the final one.
  for (let last = false; ; last = settled) {
    const progress = await read().catch(() => undefined);
    if (progress !== undefined) onProgress(progress);
    if (last) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return result;
}
