import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import cassandra from 'cassandra-driver';

const tracer = trace.getTracer('metasync-stores');

/**
 * Runs one statement for every parameter list, `concurrencyLevel` at a time; nothing to run is no round trip.
 *
 * Traced as one span for the whole batch (the statement, how many, the keyspace), without the driver
 * instrumentation's span per statement: a bulk load runs thousands of statements per bucket, and a span each (or, in a
 * trace not sampled, the instrumentation's work to decide so, and the contexts it binds to each statement's promise)
 * cost the worker a fifth more CPU than the load itself took untraced (docs/benchmarks.md, "The cost of telemetry").
 * Single statements keep the driver instrumentation's spans.
 */
export function concurrentRunner(client: cassandra.Client, concurrencyLevel: number) {
  const bulk = withoutStatementSpans(client);
  return async (query: string, parameters: unknown[][]): Promise<void> => {
    if (!parameters.length) return;
    const attributes = {
      'db.system.name': 'cassandra',
      'db.namespace': client.keyspace ?? '',
      'db.query.text': query,
      'db.operation.name': 'executeConcurrent',
      'db.operation.batch.size': parameters.length,
    };
    await tracer.startActiveSpan('cassandra.executeConcurrent', { kind: SpanKind.CLIENT, attributes }, async (span) => {
      try {
        await cassandra.concurrent.executeConcurrent(bulk, query, parameters, { concurrencyLevel });
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    });
  };
}

/**
 * The client with the driver's own `_execute` (each statement's path), where the cassandra-driver instrumentation, when
 * a traced process installed it, put its wrapper; shimmer, which wraps it, keeps the original as `__original`. The
 * rest of the client is the client itself (its prototype): connections, prepared statements and keyspace are shared.
 * Suppressing tracing around the batch instead still runs the wrapper's work for every statement: half a second of
 * the worker's main thread on a 40k-container load (docs/benchmarks.md, "The ESM hook was the cost").
 */
export function withoutStatementSpans(client: cassandra.Client): cassandra.Client {
  const execute = (client as unknown as { _execute: { __original?: unknown } })._execute;
  if (typeof execute.__original !== 'function') return client;
  return Object.create(client, { _execute: { value: execute.__original } }) as cassandra.Client;
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
