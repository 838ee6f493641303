import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reusableColumnBuckets, type PreviousColumnJob } from '../../lib/ingest/columnReuse.js';

const identity = { engine: 'e1', rules: 'r1', sourceType: 'ndjson', connectionId: 'warehouse' };
const job = (dir: string, rejected: Record<string, number>, changes: Partial<typeof identity> = {}) =>
  ({ dir, record: { ...identity, ...changes, rejected } }) satisfies PreviousColumnJob;
const reusable = (input: Partial<Parameters<typeof reusableColumnBuckets>[0]>) =>
  Object.fromEntries(
    reusableColumnBuckets({
      current: identity,
      digests: ['a', 'b', 'c', 'd'],
      previousDigests: ['a', 'b', 'c', 'd'],
      previousJobs: [job('j0-2/', { 0: 0, 1: 0 }), job('j2-4/', { 2: 0, 3: 0 })],
      ...input,
    }),
  );

describe('reusableColumnBuckets', () => {
  it('reuses every bucket of an unchanged extract, each from the job that holds it', () => {
    assert.deepEqual(reusable({}), { 0: 'j0-2/', 1: 'j0-2/', 2: 'j2-4/', 3: 'j2-4/' });
  });

  it('leaves a bucket whose lines changed to a job', () => {
    assert.deepEqual(reusable({ digests: ['a', 'B', 'c', 'd'] }), { 0: 'j0-2/', 2: 'j2-4/', 3: 'j2-4/' });
  });

  it('leaves a bucket with a refused line to a job, so the run counts and keeps its rejections', () => {
    const previousJobs = [job('j0-2/', { 0: 0, 1: 3 }), job('j2-4/', { 2: 0, 3: 0 })];
    assert.deepEqual(reusable({ previousJobs }), { 0: 'j0-2/', 2: 'j2-4/', 3: 'j2-4/' });
  });

  it('reuses nothing a job mapped with other code, rules, source type or connection', () => {
    for (const changed of [{ engine: 'e2' }, { rules: 'r2' }, { sourceType: 'postgres' }, { connectionId: 'other' }]) {
      const previousJobs = [job('j0-2/', { 0: 0, 1: 0 }, changed), job('j2-4/', { 2: 0, 3: 0 })];
      assert.deepEqual(reusable({ previousJobs }), { 2: 'j2-4/', 3: 'j2-4/' }, JSON.stringify(changed));
    }
  });

  it('reuses nothing without the previous digests, or with another number of buckets', () => {
    assert.deepEqual(reusable({ previousDigests: undefined }), {});
    assert.deepEqual(reusable({ previousDigests: ['a', 'b', 'c'] }), {});
  });

  it('leaves a bucket that two previous jobs claim, or that is not of the extract, to a job', () => {
    const previousJobs = [job('j0-2/', { 0: 0, 1: 0 }), job('j1-4/', { 1: 0, 2: 0, 3: 0, 9: 0 })];
    assert.deepEqual(reusable({ previousJobs }), { 0: 'j0-2/', 2: 'j1-4/', 3: 'j1-4/' });
  });
});
