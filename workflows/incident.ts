import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { IncidentInput, IncidentRecord, IncidentRetry, IncidentSignal } from '../lib/incidents/contracts.js';
import { rootCause } from '../lib/temporal/failures.js';
import { applyIncidentEvent } from '../lib/incidents/applyEvent.js';
import { currentTrace, inTrace, type WorkflowTrace } from '../lib/temporal/workflowTrace.js';

const DEFAULT_RETRY: IncidentRetry = { attempts: 8, firstBackoffMs: 30_000, maxBackoffMs: 15 * 60_000 };

export const incidentEventSignal = defineSignal<[IncidentSignal]>('incidentEvent');
export const incidentQuery = defineQuery<IncidentRecord | null>('incident');

/** An event waiting its turn, with the trace of the message that brought it (absent when not traced). */
type QueuedEvent = IncidentSignal & { trace?: WorkflowTrace };

/**
 * One Monte Carlo incident's life: its events arrive as signals, in the order Kafka kept them, and each is applied
 * once (ids already seen are ignored) to the incident and to every asset it concerns. It ends when the incident is
 * resolved or goes quiet, and continues as new while it is long-lived.
 *
 * The bridge committed each event's offset when the signal was accepted, so this workflow is the only place the
 * event still lives: it never gives one up. An event no retry can apply is dead-lettered; one that can be neither
 * applied nor dead-lettered (the lake and S3 both away) stays first in the queue and is tried again after a growing
 * wait, and the queue goes along when the workflow continues as new. Each event is applied in the trace of the
 * message that brought it, not of the first event's.
 */
export async function incidentLifecycle(
  input: IncidentInput,
  carry?: { record: IncidentRecord | null; pending: QueuedEvent[] },
): Promise<IncidentRecord | null> {
  const { tenant, incidentId } = input;
  const retry = { ...DEFAULT_RETRY, ...input.retry };
  // Local activities: run in the worker that holds the workflow, without a round trip through a task queue each, so
  // an event reaches its assets in the time of a few writes.
  const { loadIncident, saveIncident, deadLetterIncidentEvent } = proxyLocalActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      maximumAttempts: retry.attempts,
    },
  });
  const pending: QueuedEvent[] = carry?.pending ?? [];
  setHandler(incidentEventSignal, (signal) => void pending.push({ ...signal, trace: currentTrace() }));
  let backoffMs = retry.firstBackoffMs;
  const waitLonger = async (what: string, error: unknown) => {
    log.warn(`${what}; trying again in ${backoffMs / 1000} s`, { tenant, incidentId, error: rootCause(error) });
    await sleep(backoffMs);
    backoffMs = Math.min(backoffMs * 2, retry.maxBackoffMs);
  };

  let record = carry?.record;
  while (record === undefined) {
    try {
      record = await loadIncident({ tenant, incidentId });
    } catch (error) {
      await waitLonger('the incident could not be read', error);
    }
  }
  setHandler(incidentQuery, () => record ?? null);

  for (let work = 0; ;) {
    if (record?.status === 'resolved' && pending.length === 0) return record;
    if (work >= (input.eventsPerRun ?? 500) || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof incidentLifecycle>(input, { record, pending });
    }
    if (!(await condition(() => pending.length > 0, input.quietPeriodMs))) return record;
    const { event, origin, trace } = pending[0]!; // it leaves the queue once applied or dead-lettered
    if (record?.recentEventIds.includes(event.id)) {
      pending.shift(); // a redelivery
      continue;
    }
    work++;
    try {
      // The event's produce time and source go along for the activity's latency metric only.
      const latency = { producedAt: origin.timestamp, eventSource: event.source };
      const next = applyIncidentEvent(record, event);
      record = await inTrace(trace, () => saveIncident({ tenant, record: next, ...latency }));
    } catch (failure) {
      try {
        const reason = `could not apply the event: ${rootCause(failure)}`;
        await inTrace(trace, () => deadLetterIncidentEvent({ event, origin, reason }));
      } catch (error) {
        await waitLonger(`event ${event.id} could be neither applied nor dead-lettered`, error);
        continue;
      }
    }
    pending.shift();
    backoffMs = retry.firstBackoffMs;
  }
}
