import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SerializableSpan } from '@temporalio/interceptors-opentelemetry';
import type { WorkflowInfo } from '@temporalio/workflow';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { toCurrentSpan, workflowSpanSink } from '../../lib/platform/legacySpans.js';
import { ZipkinSpan } from '../support/zipkin.js';

const traceId = '0af7651916cd43dd8448eb211c80319c';
/** A workflow span as the interceptors' sandbox serializes it (OpenTelemetry JS 1.x: parentSpanId, instrumentationLibrary). */
const legacy: SerializableSpan = {
  name: 'RunWorkflow:incidentLifecycle',
  kind: SpanKind.INTERNAL,
  spanContext: { traceId, spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED, traceState: 'vendor=one' },
  parentSpanId: '00f067aa0ba902b7',
  startTime: [1_764_000_000, 5_000_000],
  endTime: [1_764_000_001, 0],
  status: { code: SpanStatusCode.OK },
  attributes: { 'run.attempt': 1 },
  links: [],
  events: [],
  duration: [0, 995_000_000],
  ended: true,
  droppedAttributesCount: 0,
  droppedEventsCount: 0,
  droppedLinksCount: 0,
  instrumentationLibrary: { name: '@temporalio/interceptor-workflow', version: '1.24.0' },
};
const workflow = {
  workflowId: 'incident/acme/i-1',
  runId: 'run-1',
  workflowType: 'incidentLifecycle',
  taskQueue: 'metasync',
};
const resource = resourceFromAttributes({ 'service.name': 'metasync-worker' });

describe('workflow spans from the 1.x sandbox to the 2.x exporter', () => {
  it('rebuilds the parent, the scope and the trace state, and names the workflow', () => {
    const span = toCurrentSpan(legacy, resource, workflow);
    assert.deepEqual(
      { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId },
      { traceId, spanId: 'b7ad6b7169203331' },
    );
    assert.equal(span.spanContext().traceState?.get('vendor'), 'one');
    assert.deepEqual(span.parentSpanContext, {
      traceId,
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: false,
    });
    assert.deepEqual(span.instrumentationScope, { name: '@temporalio/interceptor-workflow', version: '1.24.0' });
    assert.equal(span.resource, resource);
    assert.equal(span.attributes['temporal.workflow_id'], 'incident/acme/i-1');
    assert.equal(span.attributes['run.attempt'], 1);
    assert.deepEqual(span.duration, [0, 995_000_000]);
  });

  it('leaves a root span without a parent', () => {
    assert.equal(toCurrentSpan({ ...legacy, parentSpanId: undefined }, resource).parentSpanContext, undefined);
  });

  it('passes on only the spans of traces the sampler keeps', () => {
    const ended: string[] = [];
    const processor = new SimpleSpanProcessor({
      export: (spans, done) => {
        ended.push(...spans.map((span) => span.spanContext().traceId));
        done({ code: 0 });
      },
      shutdown: () => Promise.resolve(),
    });
    void workflowSpanSink(processor, resource, () => false).exporter.export.fn(workflow as WorkflowInfo, [legacy]);
    assert.deepEqual(ended, []);
    void workflowSpanSink(processor, resource, (id) => id === traceId).exporter.export.fn(workflow as WorkflowInfo, [
      legacy,
    ]);
    assert.deepEqual(ended, [traceId]);
  });

  it('reaches Zipkin through the sink with its parent and service', async () => {
    const received: unknown[] = [];
    const zipkin = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push(...(JSON.parse(Buffer.concat(chunks).toString()) as unknown[]));
        response.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => zipkin.listen(0, '127.0.0.1', resolve));
    const address = zipkin.address();
    assert.ok(address && typeof address === 'object');
    try {
      const processor = new SimpleSpanProcessor(
        new ZipkinExporter({ url: `http://127.0.0.1:${address.port}/api/v2/spans` }),
      );
      const sink = workflowSpanSink(processor, resource);
      // A sink function's result is not awaited by the worker either.
      void sink.exporter.export.fn(workflow as WorkflowInfo, [legacy]);
      await processor.forceFlush();
      assert.equal(received.length, 1);
      const sent = ZipkinSpan.parse(received[0]);
      assert.equal(sent.traceId, traceId);
      assert.equal(sent.id, 'b7ad6b7169203331');
      assert.equal(sent.parentId, '00f067aa0ba902b7', 'the parent survives: the span is not a root in Zipkin');
      assert.equal(sent.localEndpoint.serviceName, 'metasync-worker');
      assert.equal(sent.tags['temporal.workflow_type'], 'incidentLifecycle');
      assert.equal(sent.duration, 995_000);
      await processor.shutdown();
    } finally {
      zipkin.close();
    }
  });
});
