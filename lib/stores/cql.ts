import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import cassandra from 'cassandra-driver';

const tracer = trace.getTracer('metasync-stores');

/**
 * Runs one statement for every parameter list, `concurrencyLevel` at a time; nothing to run is no round trip.
 *
 * Traced as one span for the whole batch (the statement, how many, the keyspace), with the driver's own span per
 * statement suppressed: a bulk load runs thousands of statements per bucket, and a span each (or, in a trace not
 * sampled, the instrumentation's work to decide so) cost the worker a fifth more CPU than the load itself took
 * untraced (docs/benchmarks.md, "The cost of telemetry"). Single statements keep the driver instrumentation's spans.
 */
export function concurrentRunner(client: cassandra.Client, concurrencyLevel: number) {
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
        await context.with(suppressTracing(context.active()), () =>
          cassandra.concurrent.executeConcurrent(client, query, parameters, { concurrencyLevel }),
        );
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    });
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
