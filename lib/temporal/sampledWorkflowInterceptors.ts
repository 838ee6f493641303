/**
 * A traced worker's workflow interceptors: the interceptors package's (@temporalio/interceptors-opentelemetry) for the
 * requests whose traces are kept, and nothing but the trace context's passage for the others.
 *
 * Why: the package's interceptors make every span in the sandbox whether its trace is kept or not (the sandbox's
 * tracer records everything; the worker's sink drops the unkept spans afterwards), and loading them per workflow
 * brings an OpenTelemetry SDK and an AsyncLocalStorage context manager into each one. Measured on the incident
 * benchmark (docs/benchmarks.md, "The cost of telemetry" and "Incidents: the workflow interceptors only for kept traces"), that was +46% CPU per incident
 * with 5% of traces kept. The sampling decision is already made upstream and travels in the trace context's flags
 * (traceparent's last field), so it is read here, per message:
 *
 * - a workflow start or a signal whose trace is kept goes through the package's interceptors (loaded on first use in
 *   this workflow, so a workflow that never sees a kept trace never evaluates them);
 * - a start whose trace is not kept runs as it is, and its trace context is copied onto the activities, child
 *   workflows and signals it sends, so they are not kept either and do not start traces of their own;
 * - a start with no trace context (the Web UI, a schedule) goes through the package as before: a root whose fate the
 *   worker's sink decides by the ratio.
 *
 * Workflow-safe and replay-safe: the decision is a function of the headers in the history; the interceptors only
 * change headers, which are not part of the commands Temporal compares on replay.
 */
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import type {
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptors,
  WorkflowInterceptorsFactory,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { context, trace } from '@opentelemetry/api';

/** Where the interceptors package keeps the trace context in a message's headers (its TRACE_HEADER). */
const TRACE_HEADER = '_tracer-data';

/** Whether a message's trace is kept (traceparent's sampled flag); undefined when it carries no trace context. */
export function traceKept(headers: Headers): boolean | undefined {
  const traceparent = traceparentOf(headers);
  if (!traceparent) return undefined;
  const flags = Number.parseInt(traceparent.split('-')[3] ?? '', 16);
  return Number.isNaN(flags) ? undefined : (flags & 1) === 1;
}

function traceparentOf(headers: Headers): string | undefined {
  const payload = headers[TRACE_HEADER];
  if (!payload) return undefined;
  const carrier: unknown = defaultPayloadConverter.fromPayload(payload);
  if (typeof carrier !== 'object' || carrier === null) return undefined;
  const { traceparent } = carrier as Record<string, unknown>;
  return typeof traceparent === 'string' ? traceparent : undefined;
}

/** The interceptors for one workflow (the factory runs once per workflow, in its sandbox). */
export function interceptors(): WorkflowInterceptors {
  /** The package's interceptors, one of each kind (lib/workflow-interceptors.js in the package), once loaded. */
  let traced: WorkflowInterceptors | undefined;
  /** The start's trace context when its trace is not kept: passed on as it is. */
  let unkeptStart: Headers | undefined;

  const tracing = (): WorkflowInterceptors => {
    if (!traced) {
      // Loaded here, not imported: a module the bundle only reaches through this call is evaluated on it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const otel = require('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors') as {
        interceptors: WorkflowInterceptorsFactory;
      };
      traced = otel.interceptors();
    }
    return traced;
  };
  const inbound = (): WorkflowInboundCallsInterceptor => tracing().inbound![0]!;
  const outbound = (): WorkflowOutboundCallsInterceptor | undefined =>
    // A span is active only under a kept start or signal (the package's spans); otherwise the start's context goes on.
    traced && trace.getSpan(context.active()) ? traced.outbound![0] : undefined;
  const passOn = <T extends { readonly headers: Headers }>(input: T): T =>
    unkeptStart && !input.headers[TRACE_HEADER] ? { ...input, headers: { ...input.headers, ...unkeptStart } } : input;

  return {
    inbound: [
      {
        execute(input, next) {
          if (traceKept(input.headers) === false) {
            unkeptStart = { [TRACE_HEADER]: input.headers[TRACE_HEADER]! };
            return next(input);
          }
          return inbound().execute!(input, next);
        },
        handleSignal: (input, next) => (traceKept(input.headers) ? inbound().handleSignal!(input, next) : next(input)),
        handleUpdate: (input, next) => (traceKept(input.headers) ? inbound().handleUpdate!(input, next) : next(input)),
        validateUpdate: (input, next) =>
          traceKept(input.headers) ? inbound().validateUpdate!(input, next) : next(input),
        handleQuery: (input, next) => (traceKept(input.headers) ? inbound().handleQuery!(input, next) : next(input)),
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => outbound()?.scheduleActivity!(input, next) ?? next(passOn(input)),
        scheduleLocalActivity: (input, next) => outbound()?.scheduleLocalActivity!(input, next) ?? next(passOn(input)),
        startChildWorkflowExecution: (input, next) =>
          outbound()?.startChildWorkflowExecution!(input, next) ?? next(passOn(input)),
        signalWorkflow: (input, next) => outbound()?.signalWorkflow!(input, next) ?? next(passOn(input)),
        continueAsNew: (input, next) => outbound()?.continueAsNew!(input, next) ?? next(passOn(input)),
        getLogAttributes(input, next) {
          if (traced) return traced.outbound![0]!.getLogAttributes!(input, next);
          // Logs join their trace even when it is not kept: the ids come from the start's trace context.
          const traceparent = unkeptStart && traceparentOf(unkeptStart);
          if (!traceparent) return next(input);
          const [, traceId, spanId, flags] = traceparent.split('-');
          return next({ trace_id: traceId, span_id: spanId, trace_flags: flags, ...input });
        },
      },
    ],
    internals: [
      {
        dispose(input, next) {
          if (traced) return traced.internals![0]!.dispose!(input, next);
          next(input);
        },
      },
    ],
  };
}
