import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hopTable, percentile, temporalMarks, type HopMarks } from '../../bench/support/hops.js';

/** A history event at `ms` (epoch), of the kind its attributes say. */
const at = (ms: number, attributes: Record<string, object> = {}) => ({
  eventTime: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
  ...attributes,
});

describe('bench: where an incident event spent its time', () => {
  it("takes the first signal and the first workflow task a worker took after it from the workflow's history", () => {
    const events = [
      at(1_000, { workflowExecutionStartedEventAttributes: {} }),
      at(1_000, { workflowTaskStartedEventAttributes: {} }), // before the signal: not the signal's task
      at(1_005, { workflowExecutionSignaledEventAttributes: {} }),
      at(1_006, { workflowTaskScheduledEventAttributes: {} }),
      at(1_042, { workflowTaskStartedEventAttributes: {} }),
      at(1_090, { workflowExecutionSignaledEventAttributes: {} }),
      at(1_095, { workflowTaskStartedEventAttributes: {} }),
    ];
    assert.deepEqual(temporalMarks(events), { signalled: 1_005, taskStarted: 1_042 });
  });

  it('says nothing of a history without its signal, or without a task after it', () => {
    assert.equal(temporalMarks([at(1, { workflowExecutionStartedEventAttributes: {} })]), undefined);
    assert.equal(temporalMarks([at(1, { workflowExecutionSignaledEventAttributes: {} })]), undefined);
  });

  it('gives each hop its percentiles, the total last', () => {
    const marks: HopMarks[] = [0, 1, 2, 3].map((i) => ({
      produced: 0,
      kafkaReceived: 5 + i,
      signalled: 20 + i,
      taskStarted: 30 + 2 * i,
      written: 100 + 10 * i,
    }));
    const table = hopTable(marks);
    assert.deepEqual(
      table.map((row) => [row['p50 ms'], row['max ms']]),
      [
        [7, 8],
        [22, 23],
        [12, 13],
        [86, 94],
        [120, 130],
      ],
    );
    assert.match(table.at(-1)!.hop, /^total/);
    assert.equal(percentile([], 0.5), NaN);
    assert.equal(percentile([3, 1, 2], 0.99), 3);
  });
});
