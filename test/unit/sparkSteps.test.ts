import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sparkProgress, sparkSteps, stepsText } from '../../lib/ingest/sparkSteps.js';

test("a job's timed steps, in order, among Spark's own lines", () => {
  const stderr = [
    '26/12/01 01:34:21 INFO SparkContext: Running Spark version 3.5.7',
    'load_columns: plan took 4.2 s',
    '26/12/01 01:34:30 WARN TaskSetManager: Stage 1 contains a task of very large size',
    'load_columns: read, map and write rejections took 31.0 s',
    'load_columns: write changes took 18 s',
    'load_columns: no time here',
  ].join('\n');
  const steps = sparkSteps(stderr);
  assert.deepEqual(steps, [
    { step: 'plan', seconds: 4.2 },
    { step: 'read, map and write rejections', seconds: 31 },
    { step: 'write changes', seconds: 18 },
  ]);
  assert.equal(stepsText(steps), 'plan 4.2 s; read, map and write rejections 31 s; write changes 18 s');
  assert.deepEqual(sparkSteps(''), []);
});

test("a job's progress lines are read; anything else, or a line that is not valid, is passed over", () => {
  const line =
    'METASYNC_PROGRESS {"step": "write changes", "rowsWritten": 120, "rowsToWrite": 450, "tasksDone": 3, "tasks": 9}';
  assert.deepEqual(sparkProgress(line), {
    step: 'write changes',
    rowsWritten: 120,
    rowsToWrite: 450,
    tasksDone: 3,
    tasks: 9,
  });
  assert.equal(sparkProgress('load_columns: diff took 3.1 s'), undefined);
  assert.equal(sparkProgress('METASYNC_PROGRESS {"step": "write changes", "rowsWri'), undefined); // cut short
  assert.equal(sparkProgress('METASYNC_PROGRESS {"step": "diff", "rowsWritten": -1}'), undefined);
});
