import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { IncidentEvent, IncidentRecord } from '../lib/contracts.js';
import type { MessageOrigin } from '../lib/deadLetters.js';
import { rootCause } from '../lib/failures.js';
import { applyIncidentEvent } from '../lib/incidents.js';

export interface IncidentInput {
  tenant: string;
  incidentId: string;
  /** Without news for this long, the workflow ends; the incident's next event starts it again. */
  quietPeriodMs: number;
  /** Events applied before continuing as new, so a long-lived incident's history stays small. */
  eventsPerRun?: number;
}

export interface IncidentSignal {
  event: IncidentEvent;
  /** Where the bridge read the event, so a dead letter points back at it. */
  origin: MessageOrigin;
}

export const incidentEventSignal = defineSignal<[IncidentSignal]>('incidentEvent');
export const incidentQuery = defineQuery<IncidentRecord | null>('incident');

// Local activities: run in the worker that holds the workflow, without a round trip through a task queue each, so
// an event reaches its assets in the time of a few writes.
const { loadIncident, saveIncident, deadLetterIncidentEvent } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // Transient failures (Cassandra restarting) are waited out for about a minute and a half; then the event is
  // dead-lettered rather than holding up the incident's later events for ever.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 8 },
});

/**
 * One Monte Carlo incident's life: its events arrive as signals, in the order Kafka kept them, and each is applied
 * once (ids already seen are ignored) to the incident and to every asset it concerns. It ends when the incident is
 * resolved or goes quiet, and continues as new while it is long-lived.
 */
export async function incidentLifecycle(
  input: IncidentInput,
  carry?: { record: IncidentRecord | null; pending: IncidentSignal[] },
): Promise<IncidentRecord | null> {
  const { tenant, incidentId } = input;
  const pending: IncidentSignal[] = carry?.pending ?? [];
  setHandler(incidentEventSignal, (signal) => void pending.push(signal));
  let record = carry ? carry.record : await loadIncident({ tenant, incidentId });
  setHandler(incidentQuery, () => record);

  for (let applied = 0; ;) {
    if (record?.status === 'resolved' && pending.length === 0) return record;
    if (!(await condition(() => pending.length > 0, input.quietPeriodMs))) return record;
    const { event, origin } = pending.shift()!;
    if (record?.recentEventIds.includes(event.id)) continue; // a redelivery

    try {
      record = await saveIncident({ tenant, record: applyIncidentEvent(record, event) });
    } catch (error) {
      await deadLetterIncidentEvent({ event, origin, reason: `could not apply the event: ${rootCause(error)}` });
      continue;
    }
    if (++applied >= (input.eventsPerRun ?? 500) || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof incidentLifecycle>(input, { record, pending });
    }
  }
}
