import cassandra from 'cassandra-driver';

/** Runs one statement for every parameter list, `concurrencyLevel` at a time; nothing to run is no round trip. */
export function concurrentRunner(client: cassandra.Client, concurrencyLevel: number) {
  return async (query: string, parameters: unknown[][]): Promise<void> => {
    if (parameters.length)
      await cassandra.concurrent.executeConcurrent(client, query, parameters, { concurrencyLevel });
  };
}

/** A query's rows, page after page. The driver's stream is a Readable, whose async iteration its typings leave out. */
export const rowStream = (client: cassandra.Client, query: string, parameters: unknown[]) =>
  client.stream(query, parameters, {
    prepare: true,
    fetchSize: 10_000,
  }) as unknown as AsyncIterable<cassandra.types.Row>;

/** Keys per `IN ?` query: more save round trips, too many load the coordinator. */
export const KEYS_PER_IN = 100;

/** Splits items into lists of at most `size`, e.g. the keys of `IN ?` queries. */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
