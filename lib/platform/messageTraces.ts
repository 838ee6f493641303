import { randomBytes } from 'node:crypto';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Link,
  type Span,
} from '@opentelemetry/api';
import type { WorkflowTrace } from '../temporal/workflowTrace.js';

/**
 * Trace contexts that travel as data (WorkflowTrace: W3C traceparent and tracestate) with work done in batches: each
 * Kafka message's trace goes with its event, so the work of a batch is traced in the trace of the first event it
 * carries and linked to the others' (the OpenTelemetry messaging convention for batches), and a message whose trace is
 * not kept stays unkept wherever it goes.
 */

const tracer = trace.getTracer('metasync-messages');

/** The trace context of a span, as data; undefined when nothing is traced (no SDK, or an invalid context). */
export function traceContextOf(span: Span): WorkflowTrace | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  const { traceparent, tracestate } = carrier;
  if (!traceparent) return undefined;
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** The context a message's headers carry (W3C traceparent/tracestate, as Buffers or strings, as kafkajs gives them). */
export function contextOfHeaders(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> = {}) {
  const carrier: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) carrier[key] = first.toString();
  }
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/**
 * A consumer's span for one message read in a batch, child of the producer's context in its headers: what kafkajs's
 * instrumentation makes for eachMessage, made by hand because for eachBatch it makes one root and links instead.
 */
export function startMessageSpan(
  topic: string,
  partition: number,
  message: { offset: string; headers?: Parameters<typeof contextOfHeaders>[0] },
): Span {
  return tracer.startSpan(
    `${topic} process`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': topic,
        'messaging.destination.partition.id': String(partition),
        'messaging.kafka.offset': Number(message.offset),
      },
    },
    contextOfHeaders(message.headers),
  );
}

/**
 * Runs `work` in a span that is a child of the first trace given and links the others; without any, in a root span
 * (sampled by the ratio like any new trace). A first trace that is not kept makes a span that records nothing.
 */
export function inTraces<T>(
  traces: readonly (WorkflowTrace | undefined)[],
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const contexts = traces
    .filter((carrier) => carrier !== undefined)
    .map((carrier) => propagation.extract(ROOT_CONTEXT, carrier));
  const parent = contexts[0] ?? ROOT_CONTEXT;
  const links: Link[] = contexts
    .slice(1)
    .map((linked) => trace.getSpanContext(linked))
    .filter((spanContext) => spanContext !== undefined)
    .map((spanContext) => ({ context: spanContext }));
  return context.with(parent, () =>
    tracer.startActiveSpan(name, { attributes, links }, async (span) => {
      try {
        return await work(span);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    }),
  );
}

/**
 * Runs `work` in a trace that is not kept: what it calls (Temporal's interceptors) passes that decision on instead of
 * joining the caller's trace or starting one, so the workflow it starts is not traced as a whole.
 */
export function untraced<T>(work: () => T): T {
  const spanContext = {
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    traceFlags: TraceFlags.NONE,
    isRemote: true,
  };
  return context.with(trace.setSpanContext(ROOT_CONTEXT, spanContext), work);
}
