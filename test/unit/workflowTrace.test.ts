import { context, propagation, ROOT_CONTEXT, trace, type Span, type TracerProvider } from '@opentelemetry/api';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { before, describe, it } from 'node:test';
import { currentTrace, inTrace, type WorkflowTrace } from '../../lib/temporal/workflowTrace.js';

/**
 * The helper runs inside the workflow sandbox, where the interceptors' workflow module registers its own tracing
 * (lib/workflow/index.js, getTracer): an OpenTelemetry 1.x BasicTracerProvider from the package's own dependencies,
 * registered on the one @opentelemetry/api with its AsyncLocalStorage context manager and the default W3C
 * propagator. The second suite sets up exactly that, from the package's own modules, so the helper is proved against
 * what it meets in a traced worker; the first suite is a worker without tracing (nothing registered).
 */

const fromInterceptors = createRequire(
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry'),
);
interface LegacyProvider extends TracerProvider {
  register(config: { contextManager: unknown }): void;
}
const { BasicTracerProvider } = fromInterceptors('@opentelemetry/sdk-trace-base') as {
  BasicTracerProvider: new () => LegacyProvider;
};
const { ContextManager } = fromInterceptors('./workflow/context-manager.js') as { ContextManager: new () => unknown };

/** A 1.x span: its parent is an id (the shape lib/platform/legacySpans.ts takes in). */
const parentOf = (span: Span) => (span as Span & { parentSpanId?: string }).parentSpanId;
const valid: WorkflowTrace = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };

describe('workflowTrace without tracing (no interceptors in the bundle)', () => {
  it('captures nothing and runs the work as it is', async () => {
    assert.equal(trace.getTracerProvider().getTracer('x').startSpan('y').isRecording(), false, 'nothing registered');
    assert.equal(currentTrace(), undefined);
    assert.equal(
      inTrace(undefined, () => 42),
      42,
    );
    assert.equal(
      await inTrace(valid, () => Promise.resolve('ran')),
      'ran',
      'a trace carried from a traced run is harmless',
    );
  });
});

describe('workflowTrace in the sandbox as the interceptors set it up', () => {
  const provider = new BasicTracerProvider();
  const tracer = provider.getTracer('@temporalio/interceptor-workflow');
  before(() => {
    // The sandbox gives AsyncLocalStorage through globalThis, where the package's ContextManager looks for it.
    Object.assign(globalThis, { AsyncLocalStorage });
    provider.register({ contextManager: new ContextManager() });
  });

  it("captures the signal handler's span and runs queued work under it, in the signal's trace", async () => {
    // What a HandleSignal span's handler does: it queues the change with the context it runs in.
    const queued = tracer.startActiveSpan('HandleSignal:annotationChange', (signal) => {
      const captured = currentTrace();
      signal.end();
      return { captured, signal: signal.spanContext() };
    });
    assert.deepEqual(queued.captured, { traceparent: `00-${queued.signal.traceId}-${queued.signal.spanId}-01` });
    // The queue is workflow data: it crosses continue-as-new as JSON.
    const carried = JSON.parse(JSON.stringify(queued.captured)) as WorkflowTrace;

    // The main loop runs in the workflow's own trace; the change's child workflow must not.
    await tracer.startActiveSpan('RunWorkflow:assetPropagation', async (run) => {
      const child = await inTrace(carried, async () => {
        await nextTurn(); // the context survives the awaits of executeChild
        const started = tracer.startSpan('StartChildWorkflow:propagateChange');
        started.end();
        return started;
      });
      assert.equal(child.spanContext().traceId, queued.signal.traceId, "in the signal's trace");
      assert.equal(parentOf(child), queued.signal.spanId, 'a child of HandleSignal');
      assert.notEqual(child.spanContext().traceId, run.spanContext().traceId);
      assert.equal(trace.getActiveSpan(), run, 'after the work, the main loop is back in its own context');
      run.end();
    });
  });

  it('keeps the tracestate, and captures nothing outside a span', () => {
    const withState = { ...valid, tracestate: 'vendor=one' };
    const captured = context.with(propagation.extract(ROOT_CONTEXT, withState), () =>
      tracer.startActiveSpan('HandleSignal:incidentEvent', (span) => {
        span.end();
        return currentTrace();
      }),
    );
    assert.equal(captured?.tracestate, 'vendor=one');
    assert.match(captured?.traceparent ?? '', /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    assert.equal(currentTrace(), undefined);
  });
});
