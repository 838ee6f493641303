/**
 * Where an incident event's time goes, hop by hop, from the records the run leaves anyway: the produce time, a plain
 * Kafka consumer's receive time (the ceiling's), the incident workflow's history in Temporal (when the server accepted
 * the bridge's signal, when a worker took the workflow task) and the write time of the incident's row in Cassandra.
 * No tracing is needed, so the figures hold for the untraced run too, and the slowest hop is named by the benchmark.
 */
export interface HopMarks {
  produced: number;
  /** A plain consumer of the same message got it (Kafka's own share). */
  kafkaReceived: number;
  /** A worker took the workflow task that carried the bridge's update with the event (its partition workflow's history). */
  taskStarted: number;
  /** The incident's row on its asset was written (Cassandra's write time). */
  written: number;
}

/** The hops, in order: each one's name and its duration from the marks. */
export const HOPS: readonly [name: string, duration: (marks: HopMarks) => number][] = [
  ['Kafka: produce → a plain consumer has it', (m) => m.kafkaReceived - m.produced],
  ['bridge + Temporal: produce → a worker took the update', (m) => m.taskStarted - m.produced],
  ['worker: update taken → row written (read, apply, save)', (m) => m.written - m.taskStarted],
  ['total: produce → row written', (m) => m.written - m.produced],
];

/**
 * What is read of one event of a workflow's history (the client's fetchHistory gives its seconds as a Long, which
 * Number() reads).
 */
interface HistoryEvent {
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  workflowTaskStartedEventAttributes?: unknown;
  workflowExecutionUpdateAcceptedEventAttributes?: {
    acceptedRequest?: { meta?: { updateId?: string | null } | null } | null;
  } | null;
}

/** An event's time in epoch ms. */
function eventMs(event: HistoryEvent): number {
  const time = event.eventTime;
  return Number(time?.seconds ?? 0) * 1000 + Math.round((time?.nanos ?? 0) / 1e6);
}

/** The offsets an update delivered (the bridge names it `<topic>/<partition>/<first>-<last>`) and when a worker took it. */
export interface UpdateMark {
  partition: number;
  first: number;
  last: number;
  taskStarted: number;
}

/**
 * Temporal's marks from a partition workflow's history: for each update accepted, the offsets it carried and the
 * workflow task a worker took it in (the last WorkflowTaskStarted before its acceptance). Events are told apart by
 * their attributes, which only their own type carries.
 */
export function updateMarks(events: readonly HistoryEvent[]): UpdateMark[] {
  const marks: UpdateMark[] = [];
  let taskStarted: number | undefined;
  for (const event of events) {
    if (event.workflowTaskStartedEventAttributes) taskStarted = eventMs(event);
    const updateId = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId;
    const match = updateId?.match(/\/(\d+)\/(\d+)-(\d+)$/);
    if (match && taskStarted !== undefined) {
      marks.push({ partition: Number(match[1]), first: Number(match[2]), last: Number(match[3]), taskStarted });
    }
  }
  return marks;
}

/** When a worker took the event at this partition and offset: the first update that carried it. */
export function takenAt(marks: readonly UpdateMark[], partition: number, offset: number): number | undefined {
  return marks.find((mark) => mark.partition === partition && mark.first <= offset && offset <= mark.last)?.taskStarted;
}

/** The value under which a share `q` of `values` lies (the nearest rank); NaN for none. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Each hop's p50, p99 and max over the incidents, in ms. */
export function hopTable(marks: readonly HopMarks[]) {
  return HOPS.map(([hop, duration]) => {
    const values = marks.map(duration);
    return {
      hop,
      'p50 ms': percentile(values, 0.5),
      'p99 ms': percentile(values, 0.99),
      'max ms': percentile(values, 1),
    };
  });
}

/** A latency row: percentiles, the maximum and the share under a second, in ms. */
export function latencySummary(path: string, values: readonly number[]) {
  const sorted = values.toSorted((a, b) => a - b);
  return {
    path,
    'p50 ms': percentile(values, 0.5),
    'p95 ms': percentile(values, 0.95),
    'p99 ms': percentile(values, 0.99),
    'max ms': sorted.at(-1),
    'under 1 s': `${Math.round((100 * sorted.filter((ms) => ms < 1000).length) / sorted.length)}%`,
  };
}
