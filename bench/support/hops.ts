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
  /** Temporal accepted the bridge's signal-with-start (the history's first WorkflowExecutionSignaled). */
  signalled: number;
  /** A worker took the workflow task that signal scheduled (the next WorkflowTaskStarted). */
  taskStarted: number;
  /** The incident's row on its asset was written (Cassandra's write time). */
  written: number;
}

/** The hops, in order: each one's name and its duration from the marks. */
export const HOPS: readonly [name: string, duration: (marks: HopMarks) => number][] = [
  ['Kafka: produce → a plain consumer has it', (m) => m.kafkaReceived - m.produced],
  ['bridge: produce → Temporal accepted the signal', (m) => m.signalled - m.produced],
  ['Temporal: signal → a worker took the workflow task', (m) => m.taskStarted - m.signalled],
  ['worker: workflow task → row written (load, apply, save)', (m) => m.written - m.taskStarted],
  ['total: produce → row written', (m) => m.written - m.produced],
];

/**
 * What is read of one event of a workflow's history (the client's fetchHistory gives its seconds as a Long, which
 * Number() reads).
 */
interface HistoryEvent {
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  workflowExecutionSignaledEventAttributes?: unknown;
  workflowTaskStartedEventAttributes?: unknown;
}

/** An event's time in epoch ms. */
function eventMs(event: HistoryEvent): number {
  const time = event.eventTime;
  return Number(time?.seconds ?? 0) * 1000 + Math.round((time?.nanos ?? 0) / 1e6);
}

/**
 * Temporal's marks from an incident workflow's history: its first signal and the first workflow task a worker took
 * after it; undefined when the history holds neither (the run did not get that far). Events are told apart by their
 * attributes, which only their own type carries.
 */
export function temporalMarks(
  events: readonly HistoryEvent[],
): Pick<HopMarks, 'signalled' | 'taskStarted'> | undefined {
  const signalAt = events.findIndex((event) => event.workflowExecutionSignaledEventAttributes);
  if (signalAt < 0) return undefined;
  const task = events.slice(signalAt).find((event) => event.workflowTaskStartedEventAttributes);
  return task ? { signalled: eventMs(events[signalAt]!), taskStarted: eventMs(task) } : undefined;
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
