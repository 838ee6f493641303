import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';

/**
 * A trace context kept as data (W3C traceparent and tracestate), so work a workflow queues runs in the trace of the
 * request that brought it, however late it runs, even after the workflow has continued as new.
 *
 * Why: a workflow that takes work as signals and does it from its main loop (one change of an asset at a time, one
 * incident event after another) runs that work under its own RunWorkflow span, in the trace of the request that
 * started it. The interceptors package (@temporalio/interceptors-opentelemetry) runs each signal handler inside a
 * HandleSignal span whose parent is the signalling request's context, taken from the signal's headers: capturing the
 * context there and restoring it around the queued work keeps each request's work in its own trace.
 *
 * Workflow-safe: @opentelemetry/api is the one instance (one global) the interceptors' workflow module registers its
 * tracer, W3C propagator and AsyncLocalStorage context manager on inside the sandbox; nothing here reads a clock or
 * randomness. Without tracing (no interceptors bundled) the API is a no-op: nothing is captured, and the work runs as
 * it always did.
 */
export interface WorkflowTrace {
  traceparent: string;
  tracestate?: string;
}

/** The active trace context, to keep with queued work; undefined when nothing is traced. */
export function currentTrace(): WorkflowTrace | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  const { traceparent, tracestate } = carrier;
  if (!traceparent) return undefined;
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** Runs `work` in the trace context `trace` (from currentTrace), or as it is when there is none. */
export function inTrace<T>(trace: WorkflowTrace | undefined, work: () => T): T {
  if (!trace) return work();
  return context.with(propagation.extract(ROOT_CONTEXT, trace), work);
}
