import { context, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace-base';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { traceSampler } from '../../lib/platform/telemetry.js';

/** Trace ids under (kept) and over (dropped) a ratio of 0.05 by the ratio sampler's rule (XOR of the 32-bit parts). */
const kept = '00000001000000000000000000000000';
const dropped = 'ffffffff000000000000000000000000';

function decide(traceId: string, parent?: { remote: boolean; sampled: boolean }) {
  const parentContext = parent
    ? trace.setSpanContext(context.active(), {
        traceId,
        spanId: '00f067aa0ba902b7',
        traceFlags: parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
        isRemote: parent.remote,
      })
    : context.active();
  return traceSampler(0.05).shouldSample(parentContext, traceId, 'span', SpanKind.INTERNAL, {}, []).decision;
}

describe('trace sampling', () => {
  it('keeps a new trace by its id', () => {
    assert.equal(decide(kept), SamplingDecision.RECORD_AND_SAMPLED);
    assert.equal(decide(dropped), SamplingDecision.NOT_RECORD);
  });

  it('decides a sampled trace from another process by its id too, so a sandbox root does not keep every run', () => {
    assert.equal(decide(kept, { remote: true, sampled: true }), SamplingDecision.RECORD_AND_SAMPLED);
    assert.equal(decide(dropped, { remote: true, sampled: true }), SamplingDecision.NOT_RECORD);
    assert.equal(decide(kept, { remote: true, sampled: false }), SamplingDecision.NOT_RECORD);
  });

  it('follows a local parent as it is', () => {
    assert.equal(decide(dropped, { remote: false, sampled: true }), SamplingDecision.RECORD_AND_SAMPLED);
    assert.equal(decide(kept, { remote: false, sampled: false }), SamplingDecision.NOT_RECORD);
  });
});

describe("trace sampling of kafkajs's batch receive", () => {
  it('drops the root receive span kafkajs makes per fetched batch; a bridge traces each message in its own trace', () => {
    const sample = (kind: SpanKind, attributes: Record<string, string>) =>
      traceSampler(1).shouldSample(context.active(), kept, 'receive', kind, attributes, []).decision;
    assert.equal(sample(SpanKind.CLIENT, { 'messaging.operation.type': 'receive' }), SamplingDecision.NOT_RECORD);
    assert.equal(
      sample(SpanKind.CONSUMER, { 'messaging.operation.type': 'process' }),
      SamplingDecision.RECORD_AND_SAMPLED,
    );
    assert.equal(sample(SpanKind.INTERNAL, {}), SamplingDecision.RECORD_AND_SAMPLED);
  });
});
