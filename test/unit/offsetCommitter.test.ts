import assert from 'node:assert/strict';
import { test } from 'node:test';
import { offsetCommitter, type PartitionOffset } from '../../lib/kafka/offsetCommitter.js';

/** A commit function that records what it was given and fails while `failing` says so. */
function recorder() {
  const commits: PartitionOffset[][] = [];
  const state = { failing: false };
  const commit = (offsets: PartitionOffset[]) => {
    if (state.failing) return Promise.reject(new Error('coordinator not available'));
    commits.push(offsets);
    return Promise.resolve();
  };
  return { commits, state, commit };
}

test('commits the last offset marked per partition, all partitions in one commit', async () => {
  const { commits, commit } = recorder();
  const committer = offsetCommitter(commit, 60_000, () => assert.fail('no commit fails here'));
  committer.mark('metasync.inbound.acme.incidents', 0, '10');
  committer.mark('metasync.inbound.acme.incidents', 1, '4');
  committer.mark('metasync.inbound.acme.incidents', 0, '25');
  await committer.flush();
  assert.deepEqual(commits, [
    [
      { topic: 'metasync.inbound.acme.incidents', partition: 0, offset: '25' },
      { topic: 'metasync.inbound.acme.incidents', partition: 1, offset: '4' },
    ],
  ]);
  await committer.flush();
  assert.equal(commits.length, 1, 'nothing marked since: nothing to commit');
  await committer.stop();
});

test('a failed commit is tried again, unless a later offset of its partition was marked meanwhile', async () => {
  const { commits, state, commit } = recorder();
  const errors: string[] = [];
  const committer = offsetCommitter(commit, 60_000, (error) => errors.push(error.message));
  committer.mark('topic-a', 0, '7');
  committer.mark('topic-a', 1, '3');
  state.failing = true;
  await committer.flush();
  assert.deepEqual(errors, ['coordinator not available']);
  committer.mark('topic-a', 0, '9');
  state.failing = false;
  await committer.stop();
  assert.deepEqual(commits, [
    [
      { topic: 'topic-a', partition: 0, offset: '9' },
      { topic: 'topic-a', partition: 1, offset: '3' },
    ],
  ]);
});

test('commits on its own every interval, and never two commits at once', async () => {
  let running = 0;
  let most = 0;
  const seen: string[] = [];
  let firstStarted!: () => void;
  const started = new Promise<void>((resolve) => (firstStarted = resolve));
  const committer = offsetCommitter(
    async (offsets) => {
      running += 1;
      most = Math.max(most, running);
      firstStarted();
      await new Promise((resolve) => setTimeout(resolve, 30));
      seen.push(...offsets.map(({ offset }) => offset));
      running -= 1;
    },
    10,
    () => assert.fail('no commit fails here'),
  );
  // The committer's timer does not hold the process open (unref'd): the test does, while it waits.
  const keepAlive = setInterval(() => undefined, 1_000);
  try {
    committer.mark('topic-b', 0, '1');
    await started; // the interval's own tick, no flush asked for
    committer.mark('topic-b', 0, '2'); // while the first commit is under way: the next tick waits for it
    for (let waited = 0; seen.length < 2 && waited < 5_000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    clearInterval(keepAlive);
  }
  assert.deepEqual(seen, ['1', '2'], 'each offset committed once, in order, without a flush being asked for');
  assert.equal(most, 1);
  await committer.stop();
});
