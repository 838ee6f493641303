import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  log,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type {
  IncidentBatch,
  IncidentBatchOutcome,
  IncidentBatchReceipt,
  IncidentDelivery,
  IncidentPartitionInput,
  IncidentPartitionView,
  IncidentRetry,
  IncidentSummary,
} from '../lib/incidents/contracts.js';
import { rootCause } from '../lib/temporal/failures.js';

const DEFAULT_RETRY: IncidentRetry = { attempts: 8, firstBackoffMs: 30_000, maxBackoffMs: 15 * 60_000 };

/** Events applied by one activity at most: a burst is worked off in bites that each write in well under a second. */
const MAX_EVENTS_PER_APPLY = 500;

/** Incidents the query and the Web UI show, most recently touched last. */
const SHOWN_INCIDENTS = 50;

/** What a run hands to the next when it continues as new. */
interface Carry {
  pending: IncidentDelivery[];
  receivedThrough: number;
  appliedThrough: number;
  eventsApplied: number;
  recentIncidents: IncidentSummary[];
}

export const incidentEventsUpdate = defineUpdate<IncidentBatchReceipt, [IncidentBatch]>('incidentEvents');
export const incidentPartitionQuery = defineQuery<IncidentPartitionView>('incidentPartition');

/**
 * The incidents of one partition of a tenant's incident topic. Kafka keys each incident to one partition, so every
 * event of an incident comes here, in the order it was produced. The bridge delivers consecutive events as one
 * update and commits their offsets once the update returns, which is when they are applied: the workflow is the
 * durable owner of each event from then on, and the bridge never has more than one batch per partition in flight, so
 * a slow lake slows the consumer instead of piling events up anywhere.
 *
 * Each event is applied once: offsets at or below the last one received are redeliveries (a bridge that restarted
 * before committing), and the lake remembers each incident's recent event ids for the runs after this one. The events
 * queued are applied a batch at a time by one activity that writes every incident of the batch once. A batch that
 * cannot be applied is retried event by event, so the one event no retry can apply is dead-lettered alone; one that
 * can be neither applied nor dead-lettered (the lake and S3 both away) stays first in the queue and is tried again
 * after a growing wait, and the queue goes along when the workflow continues as new.
 */
export async function incidentPartition(input: IncidentPartitionInput, carry?: Carry): Promise<IncidentPartitionView> {
  const { tenant, topic, partition } = input;
  const retry = { ...DEFAULT_RETRY, ...input.retry };
  // Local activities: run in the worker that holds the workflow, without a round trip through a task queue each, so
  // an event reaches its assets in the time of a few writes.
  const { applyIncidentEvents, deadLetterIncidentEvents } = proxyLocalActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      maximumAttempts: retry.attempts,
    },
  });

  const pending: IncidentDelivery[] = carry?.pending ?? [];
  let receivedThrough = carry?.receivedThrough ?? -1;
  let appliedThrough = carry?.appliedThrough ?? -1;
  let eventsApplied = carry?.eventsApplied ?? 0;
  const recent = new Map((carry?.recentIncidents ?? []).map((summary) => [summary.incidentId, summary]));
  /** Set when the run ends or continues as new: waiting updates return with their events still queued. */
  let handingOver = false;
  /** When the last events were received (workflow time), and whether none came for a quiet period since. */
  let lastHeard = Date.now();
  let quiet = false;

  const view = (): IncidentPartitionView => ({
    tenant,
    topic,
    partition,
    receivedThrough,
    appliedThrough,
    queued: pending.length,
    eventsApplied,
    recentIncidents: [...recent.values()],
  });
  setHandler(incidentPartitionQuery, view);
  setHandler(
    incidentEventsUpdate,
    async ({ deliveries }) => {
      lastHeard = Date.now();
      for (const delivery of deliveries) {
        const offset = Number(delivery.origin.offset);
        if (offset <= receivedThrough) continue; // queued or applied already: a redelivery
        pending.push(delivery);
        receivedThrough = offset;
      }
      const through = Number(deliveries.at(-1)!.origin.offset);
      await condition(() => appliedThrough >= through || handingOver);
      return { appliedThrough, queued: pending.length };
    },
    {
      // Refused before it is accepted (nothing enters the history): events of another partition would break the
      // order and the offsets this workflow counts on.
      validator({ deliveries }: IncidentBatch) {
        const stray = deliveries.find(
          ({ event, origin }) => event.tenant !== tenant || origin.topic !== topic || origin.partition !== partition,
        );
        if (stray) throw new Error(`event ${stray.event.id} is not of ${topic} partition ${partition}`);
        // While events cannot be applied, the queue would grow by a batch at each hand-over: the bridge waits instead.
        if (pending.length >= MAX_EVENTS_PER_APPLY) {
          throw new Error(
            `${pending.length} events of ${topic} partition ${partition} wait to be applied: try again later`,
          );
        }
      },
    },
  );

  let backoffMs = retry.firstBackoffMs;
  const waitLonger = async (what: string, error: unknown) => {
    log.warn(`${what}; trying again in ${backoffMs / 1000} s`, { tenant, partition, error: rootCause(error) });
    await sleep(backoffMs);
    backoffMs = Math.min(backoffMs * 2, retry.maxBackoffMs);
  };

  /**
   * Settles the batch's events in order, as many as it can in one round: applies them together, or, when that fails,
   * one by one, dead-lettering the one no retry can apply. Returns how many leading events are settled; when an event
   * can be neither applied nor dead-lettered it waits longer first, and the next round starts again from that one.
   */
  const settle = async (batch: IncidentDelivery[]): Promise<number> => {
    let outcome: IncidentBatchOutcome;
    try {
      outcome = await applyIncidentEvents.executeWithOptions(
        { startToCloseTimeout: '30 seconds', summary: summaryOf(batch) },
        [{ tenant, deliveries: batch }],
      );
    } catch (failure) {
      if (batch.length > 1) {
        for (const [i, delivery] of batch.entries()) if ((await settle([delivery])) === 0) return i;
        return batch.length;
      }
      try {
        await deadLetterIncidentEvents({
          deliveries: batch,
          reason: `could not apply the event: ${rootCause(failure)}`,
        });
        return 1;
      } catch (error) {
        await waitLonger(`event ${batch[0]!.event.id} could be neither applied nor dead-lettered`, error);
        return 0;
      }
    }
    eventsApplied += outcome.applied;
    for (const incident of outcome.incidents) remember(incident);
    for (const [i, { event }] of batch.entries()) {
      const refusal = outcome.refused.find(({ eventId }) => eventId === event.id);
      if (!refusal) continue;
      try {
        await deadLetterIncidentEvents({
          deliveries: [batch[i]!],
          reason: `could not apply the event: ${refusal.reason}`,
        });
      } catch (error) {
        // The next round applies the events after it again, which the lake passes over as already applied.
        await waitLonger(`event ${event.id} could not be dead-lettered`, error);
        return i;
      }
    }
    return batch.length;
  };

  const remember = (incident: IncidentSummary) => {
    recent.delete(incident.incidentId);
    recent.set(incident.incidentId, incident);
    if (recent.size > SHOWN_INCIDENTS) recent.delete(recent.keys().next().value!);
  };

  /**
   * Tells when no event came for a quiet period. One timer per quiet period, re-armed for what is left of it, rather
   * than one per batch: each timer is a task and two history events at the server, which at hundreds of batches a
   * second cost more than the batches' own work there.
   */
  const watchForQuiet = async () => {
    for (let left = input.quietPeriodMs; left > 0; left = lastHeard + input.quietPeriodMs - Date.now()) {
      await sleep(left);
    }
    quiet = true;
  };
  void watchForQuiet();

  for (let work = 0; ;) {
    if (work >= (input.eventsPerRun ?? 5_000) || workflowInfo().continueAsNewSuggested) {
      handingOver = true;
      await condition(allHandlersFinished);
      await continueAsNew<typeof incidentPartition>(input, {
        pending,
        receivedThrough,
        appliedThrough,
        eventsApplied,
        recentIncidents: [...recent.values()],
      });
    }
    await condition(() => pending.length > 0 || quiet);
    if (pending.length === 0) {
      handingOver = true;
      await condition(allHandlersFinished);
      if (pending.length === 0) return view();
      handingOver = false; // an update came in meanwhile: its events are the workflow's now, so it goes on
    }
    // A quiet period that passed while events were queued (waiting out a failure) ends nothing: it starts over.
    if (quiet) {
      quiet = false;
      void watchForQuiet();
    }
    const batch = pending.slice(0, MAX_EVENTS_PER_APPLY);
    work += batch.length;
    const settled = await settle(batch);
    if (settled === 0) continue;
    // Events leave the queue only once applied or dead-lettered.
    appliedThrough = Number(batch[settled - 1]!.origin.offset);
    pending.splice(0, settled);
    backoffMs = retry.firstBackoffMs;
    setCurrentDetails(detailsOf(view()));
  }
}

/** What the Web UI shows on the activity: how many events, of which incidents. */
function summaryOf(batch: IncidentDelivery[]): string {
  const ids = [...new Set(batch.map(({ event }) => event.payload.incidentId))];
  const shown = ids.slice(0, 5).join(', ');
  return `${batch.length} events, offsets ${batch[0]!.origin.offset}-${batch.at(-1)!.origin.offset}: incidents ${shown}${ids.length > 5 ? ` and ${ids.length - 5} more` : ''}`;
}

/** The Web UI's current details: where the partition stands and its incidents touched last. */
function detailsOf(view: IncidentPartitionView): string {
  const rows = view.recentIncidents
    .slice(-10)
    .reverse()
    .map((i) => `| ${i.incidentId} | ${i.status} | ${i.eventsApplied} | ${i.qualifiedNames} | ${i.updatedAt} |`);
  return [
    `**${view.topic}** partition ${view.partition}: applied through offset ${view.appliedThrough}, ${view.queued} queued, ${view.eventsApplied} events applied`,
    '',
    '| incident | status | events | assets | updated |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
