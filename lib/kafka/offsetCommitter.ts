/** A partition's offset to commit: the next one to read, past the last event handed over. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Offsets of handed-over events, committed together every `intervalMs` rather than after each hand-over: the commit
 * (a round trip to Kafka) leaves the path every event waits on. Only offsets of events already handed over are
 * marked, so nothing is lost; a bridge that dies between two commits has the last interval's events read again, and
 * their workflows and writes pass them over as redeliveries. A commit that fails is tried again at the next tick,
 * unless a later offset of the partition was marked meanwhile.
 */
export function offsetCommitter(
  commit: (offsets: PartitionOffset[]) => Promise<void>,
  intervalMs: number,
  onError: (error: Error) => void,
) {
  let marked = new Map<string, PartitionOffset>();
  let committing: Promise<void> = Promise.resolve();
  const keyOf = ({ topic, partition }: PartitionOffset) => `${partition}/${topic}`;

  /** Commits what is marked, after any commit under way (commits never overtake each other). */
  const flush = (): Promise<void> =>
    (committing = committing.then(async () => {
      if (marked.size === 0) return;
      const offsets = [...marked.values()];
      marked = new Map();
      try {
        await commit(offsets);
      } catch (error) {
        for (const offset of offsets) if (!marked.has(keyOf(offset))) marked.set(keyOf(offset), offset);
        onError(error as Error);
      }
    }));

  const timer = setInterval(() => void flush(), intervalMs);
  timer.unref();
  return {
    /** The partition's events before `offset` are handed over. */
    mark(topic: string, partition: number, offset: string): void {
      marked.set(keyOf({ topic, partition, offset }), { topic, partition, offset });
    },
    flush,
    /** Commits what is left and stops ticking. */
    async stop(): Promise<void> {
      clearInterval(timer);
      await flush();
    },
  };
}
export type OffsetCommitter = ReturnType<typeof offsetCommitter>;
