import type { Client as TemporalClient } from '@temporalio/client';
import type cassandra from 'cassandra-driver';
import type { Producer } from 'kafkajs';
import { readFileSync } from 'node:fs';

/**
 * Where a benchmark's time goes, measured from outside the code under test: CPU seconds per process, the time of
 * each activity in Temporal's histories, and (when the worker runs in the benchmark's process) how long Cassandra
 * and Kafka calls were in flight.
 */

/** A kind of call: how many, over how many rows or messages, and how long at least one of them was in flight. */
export class Meter {
  calls = 0;
  items = 0;
  /** Wall time with at least one call in flight: overlapping calls count once. */
  busyMs = 0;
  private inFlight = 0;
  private since = 0;

  async time<T>(call: () => Promise<T>, items: (result: T) => number): Promise<T> {
    if (this.inFlight++ === 0) this.since = performance.now();
    try {
      const result = await call();
      this.calls++;
      this.items += items(result);
      return result;
    } finally {
      if (--this.inFlight === 0) this.busyMs += performance.now() - this.since;
    }
  }

  /** The figures so far; in-flight time up to now included. */
  read(): { calls: number; items: number; busyMs: number } {
    const open = this.inFlight > 0 ? performance.now() - this.since : 0;
    return { calls: this.calls, items: this.items, busyMs: this.busyMs + open };
  }
}

export interface IoMeters {
  cassandraRead: Meter;
  cassandraWrite: Meter;
  kafkaSend: Meter;
}

/**
 * Times every Cassandra request and every Kafka send made through these clients. Every driver call (execute, each
 * statement of executeConcurrent, each page of stream and eachRow) goes through the driver's private
 * `Client#_execute`, so that is what is wrapped: good enough for a profile, not for production.
 */
export function meterIo(client: cassandra.Client, producer: Producer): IoMeters {
  const meters: IoMeters = { cassandraRead: new Meter(), cassandraWrite: new Meter(), kafkaSend: new Meter() };
  type Execute = (query: unknown, params: unknown, options: unknown) => Promise<{ rowLength?: number }>;
  const inner = client as unknown as { _execute: Execute };
  const execute = inner._execute.bind(inner);
  inner._execute = (query, params, options) => {
    const read = typeof query === 'string' && /^\s*SELECT/i.test(query);
    const meter = read ? meters.cassandraRead : meters.cassandraWrite;
    return meter.time(
      () => execute(query, params, options),
      (result) => (read ? (result.rowLength ?? 0) : 1),
    );
  };
  const send = producer.send.bind(producer);
  producer.send = (record) =>
    meters.kafkaSend.time(
      () => send(record),
      () => record.messages.length,
    );
  return meters;
}

/** User and system CPU seconds a process has used (Linux, 100 ticks a second). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The stack's service processes, from the pid files stack/ keeps; those not running are left out. */
export function stackPids(root: string, services: readonly string[]): Map<string, number> {
  const pids = new Map<string, number>();
  for (const service of services) {
    try {
      const pid = Number(readFileSync(`${root}.stack/pids/${service}.pid`, 'utf8').trim());
      cpuSeconds(pid);
      pids.set(service, pid);
    } catch {
      // not running here
    }
  }
  return pids;
}

export interface ActivityTimes {
  calls: number;
  /** Started to closed, summed over calls (calls running side by side add up). */
  runMs: number;
  /** Scheduled to started, summed: time spent waiting for a worker slot or a poll. */
  queuedMs: number;
}

export interface WalkHistory {
  workflows: number;
  workflowTasks: number;
  /** Workflow tasks' scheduled to completed, summed. */
  workflowTaskMs: number;
  activities: Map<string, ActivityTimes>;
}

type Timestamp = { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined;
const ms = (ts: Timestamp): number => {
  const seconds = ts?.seconds ?? 0;
  return (typeof seconds === 'number' ? seconds : seconds.toNumber()) * 1000 + (ts?.nanos ?? 0) / 1e6;
};

/**
 * Reads the histories of a workflow run, its continuations and its child workflows (recursively), and adds up
 * where their time went.
 */
export async function walkHistory(
  temporal: TemporalClient,
  first: { workflowId: string; runId: string },
): Promise<WalkHistory> {
  const totals: WalkHistory = { workflows: 0, workflowTasks: 0, workflowTaskMs: 0, activities: new Map() };
  const queue = [first];
  for (let run = queue.shift(); run; run = queue.shift()) {
    totals.workflows++;
    const history = await temporal.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const scheduled = new Map<string, { type: string; at: number }>();
    const started = new Map<string, number>();
    let taskScheduled = 0;
    for (const event of history.events ?? []) {
      const at = ms(event.eventTime);
      const id = String(event.eventId);
      if (event.workflowTaskScheduledEventAttributes) taskScheduled = at;
      if (event.workflowTaskCompletedEventAttributes) {
        totals.workflowTasks++;
        totals.workflowTaskMs += at - taskScheduled;
      }
      const scheduling = event.activityTaskScheduledEventAttributes;
      if (scheduling) scheduled.set(id, { type: scheduling.activityType?.name ?? '?', at });
      const starting = event.activityTaskStartedEventAttributes;
      if (starting) started.set(String(starting.scheduledEventId), at);
      const closed =
        event.activityTaskCompletedEventAttributes ??
        event.activityTaskFailedEventAttributes ??
        event.activityTaskTimedOutEventAttributes ??
        event.activityTaskCanceledEventAttributes;
      if (closed) {
        const key = String(closed.scheduledEventId);
        const activity = scheduled.get(key);
        const startedAt = started.get(key);
        if (activity && startedAt !== undefined) {
          const times = totals.activities.get(activity.type) ?? { calls: 0, runMs: 0, queuedMs: 0 };
          times.calls++;
          times.runMs += at - startedAt;
          times.queuedMs += startedAt - activity.at;
          totals.activities.set(activity.type, times);
        }
      }
      const child = event.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
      if (child?.workflowId && child.runId) queue.push({ workflowId: child.workflowId, runId: child.runId });
      const next = event.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (next) queue.push({ workflowId: run.workflowId, runId: next });
    }
  }
  return totals;
}

/** The run id a parent's history gives the child it started under `workflowId`. */
export async function childRunId(
  temporal: TemporalClient,
  parentWorkflowId: string,
  workflowId: string,
): Promise<string | undefined> {
  const history = await temporal.workflow.getHandle(parentWorkflowId).fetchHistory();
  for (const event of history.events ?? []) {
    const child = event.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (child?.workflowId === workflowId && child.runId) return child.runId;
  }
  return undefined;
}

export type IoFigures = Record<string, { calls: number; items: number; busyMs: number }>;

/** Every meter's figures so far. */
export const readMeters = (meters: IoMeters): IoFigures =>
  Object.fromEntries(Object.entries(meters).map(([kind, meter]: [string, Meter]) => [kind, meter.read()]));

/** What each meter counted between two readings. */
export const ioBetween = (before: IoFigures, after: IoFigures): IoFigures =>
  Object.fromEntries(
    Object.entries(after).map(([kind, figures]) => {
      const earlier = before[kind]!;
      return [
        kind,
        {
          calls: figures.calls - earlier.calls,
          items: figures.items - earlier.items,
          busyMs: figures.busyMs - earlier.busyMs,
        },
      ];
    }),
  );
