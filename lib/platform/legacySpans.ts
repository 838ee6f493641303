import { createTraceState, type SpanContext } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { OpenTelemetrySinks, SerializableSpan } from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';

/**
 * Workflow spans cross from the workflow sandbox to the worker in the shape of OpenTelemetry JS 1.x (the interceptors
 * package for Temporal SDK 1.24 builds them with sdk-trace-base 1.x): the parent is `parentSpanId`, the library is
 * `instrumentationLibrary`. This process's span processors and exporters are 2.x, which read `parentSpanContext` and
 * `instrumentationScope`: handed a 1.x span as it is, the Zipkin exporter loses the parent (every workflow span becomes
 * a root) or throws on the missing scope. toCurrentSpan rebuilds the 2.x shape; the package's own makeWorkflowExporter
 * is not used because it hands the 1.x shape on.
 */
export function toCurrentSpan(span: SerializableSpan, resource: Resource, workflow?: WorkflowIdentity): ReadableSpan {
  const { traceState, ...ids } = span.spanContext;
  const context: SpanContext = { ...ids, ...(traceState ? { traceState: createTraceState(traceState) } : {}) };
  // The sandbox does not say whether the parent came from another process; only its ids matter to a backend.
  const parent: SpanContext | undefined = span.parentSpanId
    ? { traceId: ids.traceId, spanId: span.parentSpanId, traceFlags: ids.traceFlags, isRemote: false }
    : undefined;
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => context,
    ...(parent ? { parentSpanContext: parent } : {}),
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status,
    attributes: { ...span.attributes, ...(workflow ? workflowAttributes(workflow) : {}) },
    links: span.links,
    events: span.events,
    duration: span.duration,
    ended: span.ended,
    resource,
    instrumentationScope: {
      name: span.instrumentationLibrary.name,
      ...(span.instrumentationLibrary.version ? { version: span.instrumentationLibrary.version } : {}),
      ...(span.instrumentationLibrary.schemaUrl ? { schemaUrl: span.instrumentationLibrary.schemaUrl } : {}),
    },
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

export type WorkflowIdentity = Pick<WorkflowInfo, 'workflowId' | 'runId' | 'workflowType' | 'taskQueue'>;

/** The workflow a span came from, as attributes (ids are fine here: spans, unlike metric labels, are per request). */
const workflowAttributes = (info: WorkflowIdentity) => ({
  'temporal.workflow_id': info.workflowId,
  'temporal.run_id': info.runId,
  'temporal.workflow_type': info.workflowType,
  'temporal.task_queue': info.taskQueue,
});

/**
 * The worker's sink for its workflows' spans: each one, reshaped, goes to the process's own span processor, if `keep`
 * keeps its trace (the sandbox keeps every trace it starts; the process's sampler decides by trace id).
 */
export function workflowSpanSink(
  processor: SpanProcessor,
  resource: Resource,
  keep: (traceId: string) => boolean = () => true,
): InjectedSinks<OpenTelemetrySinks> {
  return {
    exporter: {
      export: {
        fn: (info: WorkflowInfo, spans: SerializableSpan[]) => {
          for (const span of spans) {
            if (keep(span.spanContext.traceId)) processor.onEnd(toCurrentSpan(span, resource, info));
          }
        },
        // Spans are not replayed: a replayed workflow task would send them a second time.
        callDuringReplay: false,
      },
    },
  };
}
