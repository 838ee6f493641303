import { trace } from '@opentelemetry/api';
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import type {
  ActivityInput,
  ContinueAsNewInput,
  SignalWorkflowInput,
  StartChildWorkflowExecutionInput,
  WorkflowExecuteInput,
} from '@temporalio/workflow';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interceptors, traceKept } from '../../lib/temporal/sampledWorkflowInterceptors.js';

/**
 * The decision and the passage of an unkept trace, outside the sandbox. A kept trace goes through the interceptors
 * package, which only runs inside a workflow: that path is proved by test/integration/traces.test.ts (every trace
 * kept there) against the real worker, and the unkept path end to end there too.
 */
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const headersOf = (traceparent: string): Headers => ({
  '_tracer-data': defaultPayloadConverter.toPayload({ traceparent }),
});
const unkept = headersOf(`00-${TRACE_ID}-b7ad6b7169203331-00`);
const kept = headersOf(`00-${TRACE_ID}-b7ad6b7169203331-01`);

describe('sampled workflow interceptors: the decision', () => {
  it("reads traceparent's sampled flag", () => {
    assert.equal(traceKept(kept), true);
    assert.equal(traceKept(unkept), false);
    assert.equal(traceKept(headersOf(`00-${TRACE_ID}-b7ad6b7169203331-03`)), true, 'other flags beside it');
  });

  it('says nothing of a message without a trace context, or with one it cannot read', () => {
    assert.equal(traceKept({}), undefined);
    assert.equal(traceKept(headersOf('garbage')), undefined);
    assert.equal(traceKept({ '_tracer-data': defaultPayloadConverter.toPayload(['not', 'a', 'carrier']) }), undefined);
  });
});

describe('sampled workflow interceptors: a start whose trace is not kept', () => {
  /** One workflow's interceptors, started with `headers`. */
  async function started(headers: Headers) {
    const { inbound, outbound } = interceptors();
    const seen: WorkflowExecuteInput[] = [];
    const input: WorkflowExecuteInput = { args: ['x'], headers };
    const result = await inbound![0]!.execute!(input, (given) => {
      seen.push(given);
      return Promise.resolve('done');
    });
    return { result, seen, input, out: outbound![0]! };
  }

  it('runs the workflow as it is, without loading any tracing', async () => {
    const { result, seen, input } = await started(unkept);
    assert.equal(result, 'done');
    assert.deepEqual(seen, [input]);
    // The package registers its tracer provider on the one API when it loads; nothing did.
    assert.equal(trace.getTracerProvider().getTracer('t').startSpan('s').isRecording(), false);
  });

  it("passes the start's trace context on to activities, children, signals and the next run", async () => {
    const { out } = await started(unkept);
    const headersSent: Headers[] = [];
    const capture = <T extends { headers: Headers }>(input: T) => {
      headersSent.push(input.headers);
      return Promise.resolve(undefined as never);
    };
    const activity = { activityType: 'saveIncident', headers: { other: kept['_tracer-data']! } };
    await out.scheduleActivity!({ ...activity, headers: {} } as unknown as ActivityInput, capture);
    const child = { headers: {} } as unknown as StartChildWorkflowExecutionInput;
    await out.startChildWorkflowExecution!(child, capture).then(() => undefined);
    await out.signalWorkflow!({ headers: {} } as unknown as SignalWorkflowInput, capture);
    await out.continueAsNew!({ headers: {} } as unknown as ContinueAsNewInput, capture);
    assert.deepEqual(headersSent, [unkept, unkept, unkept, unkept]);
    // A header of its own (set by the workflow's code) is left as it is, beside the trace context.
    await out.scheduleActivity!(activity as unknown as ActivityInput, capture);
    assert.deepEqual(headersSent.at(-1), { ...activity.headers, ...unkept });
  });

  it('keeps its own trace context when a message already carries one', async () => {
    const { out } = await started(unkept);
    let sent: Headers | undefined;
    await out.scheduleActivity!({ headers: kept } as unknown as ActivityInput, (input) => {
      sent = input.headers;
      return Promise.resolve(undefined);
    });
    assert.deepEqual(sent, kept);
  });

  it('puts the trace and span ids on its log lines, so logs join the trace anyway', async () => {
    const { out } = await started(unkept);
    const attributes = out.getLogAttributes!({ workflowId: 'w' }, (input) => input);
    assert.deepEqual(attributes, {
      trace_id: TRACE_ID,
      span_id: 'b7ad6b7169203331',
      trace_flags: '00',
      workflowId: 'w',
    });
  });

  it('lets signals whose trace is not kept, or that carry none, through as they are', async () => {
    const { inbound } = interceptors();
    for (const headers of [unkept, {}]) {
      const input = { signalName: 'incidentEvent', args: [], headers };
      let handled: unknown;
      await inbound![0]!.handleSignal!(input, (given) => {
        handled = given;
        return Promise.resolve();
      });
      assert.equal(handled, input);
    }
  });
});
