import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hopTable, percentile, takenAt, updateMarks, type HopMarks } from '../../bench/support/hops.js';

/** A history event at `ms` (epoch), of the kind its attributes say. */
const at = (ms: number, attributes: Record<string, object> = {}) => ({
  eventTime: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
  ...attributes,
});
const accepted = (ms: number, updateId: string) =>
  at(ms, { workflowExecutionUpdateAcceptedEventAttributes: { acceptedRequest: { meta: { updateId } } } });

describe('bench: where an incident event spent its time', () => {
  it("takes each update's offsets and the workflow task a worker took it in from the partition workflow's history", () => {
    const events = [
      at(1_000, { workflowExecutionStartedEventAttributes: {} }),
      at(1_001, { workflowTaskStartedEventAttributes: {} }),
      accepted(1_020, 'metasync.inbound.acme.incidents/1/0-4'),
      at(1_040, { workflowTaskStartedEventAttributes: {} }),
      at(1_041, { workflowTaskCompletedEventAttributes: {} }),
      accepted(1_060, 'metasync.inbound.acme.incidents/1/5-5'),
      accepted(1_061, 'not-an-update-of-the-bridge'),
    ];
    const marks = updateMarks(events);
    assert.deepEqual(marks, [
      { partition: 1, first: 0, last: 4, taskStarted: 1_001 },
      { partition: 1, first: 5, last: 5, taskStarted: 1_040 },
    ]);
    assert.equal(takenAt(marks, 1, 3), 1_001);
    assert.equal(takenAt(marks, 1, 5), 1_040);
    assert.equal(takenAt(marks, 0, 3), undefined, 'another partition');
    assert.equal(takenAt(marks, 1, 6), undefined, 'not delivered');
  });

  it('gives each hop its percentiles, the total last', () => {
    const marks: HopMarks[] = [0, 1, 2, 3].map((i) => ({
      produced: 0,
      kafkaReceived: 5 + i,
      taskStarted: 30 + 2 * i,
      written: 100 + 10 * i,
    }));
    const table = hopTable(marks);
    assert.deepEqual(
      table.map((row) => [row['p50 ms'], row['max ms']]),
      [
        [7, 8],
        [34, 36],
        [86, 94],
        [120, 130],
      ],
    );
    assert.match(table.at(-1)!.hop, /^total/);
    assert.equal(percentile([], 0.5), NaN);
    assert.equal(percentile([3, 1, 2], 0.99), 3);
  });
});
