import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { Context as ActivityContext } from '@temporalio/activity';
import type { ActivityExecuteInput } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { contextFields, logLine, withLogFields } from '../../lib/platform/log.js';
import { activityLogFields } from '../../lib/temporal/activityLogFields.js';

const Line = z.looseObject({ at: z.iso.datetime(), level: z.string(), message: z.string() });
const parsed = (line: string) => Line.parse(JSON.parse(line));

describe('log lines join the traces', () => {
  const tracer = new BasicTracerProvider().getTracer('test');
  const manager = new AsyncLocalStorageContextManager();
  before(() => context.setGlobalContextManager(manager.enable()));
  after(() => context.disable());

  it('carries the active span trace and span ids', () => {
    const span = tracer.startSpan('work');
    const line = context.with(trace.setSpan(context.active(), span), () => parsed(logLine('info', 'inside')));
    span.end();
    assert.equal(line['trace_id'], span.spanContext().traceId);
    assert.equal(line['span_id'], span.spanContext().spanId);
    assert.match(String(line['trace_id']), /^[0-9a-f]{32}$/);
  });

  it('has no ids outside a span, and no ids from an unsampled or invalid one', () => {
    const line = parsed(logLine('warn', 'outside', { n: 1 }));
    assert.equal(line['trace_id'], undefined);
    assert.equal(line['n'], 1);
    const invalid = trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 });
    assert.deepEqual(
      context.with(trace.setSpan(context.active(), invalid), () => contextFields()),
      {},
    );
  });

  it('names the tenant and workflow of the work in hand, inner fields over outer, caller fields over both', async () => {
    await withLogFields({ tenant: 'acme' }, async () => {
      await new Promise((resolve) => setImmediate(resolve)); // across an await, as an activity's lines are
      withLogFields({ workflow_id: 'incident/acme/1' }, () => {
        assert.deepEqual(contextFields(), { tenant: 'acme', workflow_id: 'incident/acme/1' });
        assert.equal(parsed(logLine('info', 'x', { tenant: 'given' }))['tenant'], 'given');
      });
    });
    assert.deepEqual(contextFields(), {});
  });

  it('gives an activity its workflow id, type and tenant from its input', async () => {
    const ctx = {
      info: { workflowExecution: { workflowId: 'ingest/acme/run-1', runId: 'r' }, activityType: 'loadContainers' },
    } as unknown as ActivityContext;
    const interceptor = activityLogFields(ctx).inbound!;
    const input = (args: unknown[]) => ({ args, headers: {} }) as unknown as ActivityExecuteInput;
    const seen = await interceptor.execute!(input([{ tenant: 'acme', runId: 'run-1' }]), () =>
      Promise.resolve(contextFields()),
    );
    assert.deepEqual(seen, { workflow_id: 'ingest/acme/run-1', activity: 'loadContainers', tenant: 'acme' });
    const without = await interceptor.execute!(input(['not an object']), () => Promise.resolve(contextFields()));
    assert.deepEqual(without, { workflow_id: 'ingest/acme/run-1', activity: 'loadContainers' });
  });
});
