import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { columnsWrittenNow, columnsWrittenSoFar, nextColumnJobs } from '../../lib/ingest/columnJobs.js';

const sized = (columnsPerJob: number, jobs = 8, rerun = false) => ({ jobs, columnsPerJob, rerun });

describe('nextColumnJobs', () => {
  it('makes a small extract one job, whatever its buckets', () => {
    assert.deepEqual(nextColumnJobs([300, 0, 250, 410], 0, sized(1_000_000)), { jobs: [{ from: 0, to: 4 }], next: 4 });
  });

  it('gathers consecutive buckets up to the columns a job takes, a bucket over it alone', () => {
    assert.deepEqual(nextColumnJobs([40, 50, 20, 150, 10, 10], 0, sized(100)), {
      jobs: [
        { from: 0, to: 2 },
        { from: 2, to: 3 },
        { from: 3, to: 4 },
        { from: 4, to: 6 },
      ],
      next: 6,
    });
  });

  it('plans one wave at a time and says where the next starts', () => {
    const perBucket = [60, 60, 60, 60, 60];
    assert.deepEqual(nextColumnJobs(perBucket, 0, sized(100, 2)), {
      jobs: [
        { from: 0, to: 1 },
        { from: 1, to: 2 },
      ],
      next: 2,
    });
    assert.deepEqual(nextColumnJobs(perBucket, 4, sized(100, 2)), { jobs: [{ from: 4, to: 5 }], next: 5 });
    assert.deepEqual(nextColumnJobs(perBucket, 5, sized(100, 2)), { jobs: [], next: 5 });
  });

  it('leaves out a job without columns on a first run only', () => {
    const perBucket = [0, 0, 0, 0];
    assert.deepEqual(nextColumnJobs(perBucket, 0, sized(100)), { jobs: [], next: 4 });
    assert.deepEqual(nextColumnJobs(perBucket, 0, sized(100, 8, true)), { jobs: [{ from: 0, to: 4 }], next: 4 });
  });

  it('with a fixed number of buckets per job, plans as runs did before jobs were sized', () => {
    const perBucket = [5, 0, 0, 0, 7, 1];
    const fixed = { jobs: 2, columnsPerJob: 1, bucketsPerJob: 2, rerun: false };
    // The empty group is passed over without counting against the wave.
    assert.deepEqual(nextColumnJobs(perBucket, 0, fixed), {
      jobs: [
        { from: 0, to: 2 },
        { from: 4, to: 6 },
      ],
      next: 6,
    });
    assert.deepEqual(nextColumnJobs(perBucket, 0, { ...fixed, rerun: true }), {
      jobs: [
        { from: 0, to: 2 },
        { from: 2, to: 4 },
      ],
      next: 4,
    });
  });

  it('never gives a job a bucket whose state is reused: a job ends before it', () => {
    const perBucket = [10, 10, 10, 10, 10, 10];
    const skip = new Set([0, 2, 3]);
    assert.deepEqual(nextColumnJobs(perBucket, 0, { ...sized(1_000), rerun: true, skip }), {
      jobs: [
        { from: 1, to: 2 },
        { from: 4, to: 6 },
      ],
      next: 6,
    });
    const fixed = { jobs: 8, columnsPerJob: 1, bucketsPerJob: 3, rerun: true, skip };
    assert.deepEqual(nextColumnJobs(perBucket, 0, fixed).jobs, [
      { from: 1, to: 2 },
      { from: 4, to: 6 },
    ]);
    assert.deepEqual(
      nextColumnJobs(perBucket, 0, { ...sized(1_000), rerun: true, skip: new Set([0, 1, 2, 3, 4, 5]) }),
      {
        jobs: [],
        next: 6,
      },
    );
  });
});

it("a running job's columns shown as written: none before its changes, by rows while they go, all after", () => {
  const at = (step: string, rowsWritten = 0, rowsToWrite = 0) => ({
    step,
    rowsWritten,
    rowsToWrite,
    tasksDone: 0,
    tasks: 0,
  });
  assert.equal(columnsWrittenSoFar(900, undefined), 0);
  assert.equal(columnsWrittenSoFar(900, at('read and map')), 0);
  assert.equal(columnsWrittenSoFar(900, at('write rejections', 5, 10)), 0);
  // assets and assets_by_parent: two rows a column
  assert.equal(columnsWrittenSoFar(900, at('write changes', 450, 1_800)), 225);
  assert.equal(columnsWrittenSoFar(900, at('write changes', 2_000, 1_800)), 900); // Spark's figure may run ahead
  assert.equal(columnsWrittenSoFar(900, at('write changes', 0, 0)), 0); // nothing changed: nothing to show yet
  assert.equal(columnsWrittenSoFar(900, at('write state')), 900);
  assert.equal(columnsWrittenSoFar(900, at('stop')), 900);
  assert.equal(columnsWrittenSoFar(900, at('a step of a newer job')), 0);
});

it("the run's columns written now: finished jobs' and running jobs' so far", () => {
  const progress = {
    phase: 'columns' as const,
    containersReady: true,
    containers: { done: 10, total: 10 },
    columns: {
      done: 1_000,
      total: 5_000,
      running: [
        { workflowId: 'a', columns: 2_000, step: 'write changes', written: 700 },
        { workflowId: 'b', columns: 2_000 },
      ],
    },
    counts: {},
    continuedAsNew: 0,
  };
  assert.equal(columnsWrittenNow(progress), 1_700);
  assert.equal(columnsWrittenNow({ ...progress, columns: { done: 5_000, total: 5_000 } }), 5_000);
});
