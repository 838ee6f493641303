import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyIncidentEvents, groupByIncident } from '../../lib/incidents/applyEvent.js';
import { deliveryChunks } from '../../workers/topicBridge.js';
import { incidentEvent } from '../support/incidents.js';

describe('an incident batch', () => {
  it("applies an incident's events in order and passes over those it already has", () => {
    const [opened, owned, resolved] = [0, 1, 2].map((n) =>
      incidentEvent('acme', 'i-1', n, n === 2 ? { feedback: 'fixed' } : {}),
    );
    const first = applyIncidentEvents(null, [opened!, owned!]);
    assert.equal(first.record?.eventsApplied, 2);
    assert.equal(first.record?.owner, 'owner-1@example.com');
    const again = applyIncidentEvents(first.record, [owned!, opened!, resolved!]);
    assert.deepEqual(
      again.redelivered.map((event) => event.id),
      [owned!.id, opened!.id],
    );
    assert.deepEqual(
      again.applied.map((event) => event.id),
      [resolved!.id],
    );
    assert.equal(again.record?.status, 'resolved');
    assert.equal(again.record?.eventsApplied, 3, 'each distinct event counted once');
    assert.equal(applyIncidentEvents(null, []).record, null);
  });

  it("groups a partition's events by incident, each group in the order given", () => {
    const events = [
      incidentEvent('acme', 'a', 0),
      incidentEvent('acme', 'b', 0),
      incidentEvent('acme', 'a', 1),
      incidentEvent('acme', 'b', 1),
      incidentEvent('acme', 'a', 2),
    ].map((event) => ({ event }));
    const groups = groupByIncident(events);
    assert.deepEqual([...groups.keys()], ['a', 'b']);
    assert.deepEqual(
      groups.get('a')!.map(({ event }) => event.id),
      ['a-event-0', 'a-event-1', 'a-event-2'],
    );
  });

  it('is handed to Temporal in chunks of at most 500 events and 512 KiB, in order', () => {
    const small = Array.from({ length: 1_201 }, (_, i) => ({ offset: String(i), value: Buffer.alloc(100) }));
    const chunks = deliveryChunks(small);
    assert.deepEqual(
      chunks.map((chunk) => chunk.length),
      [500, 500, 201],
    );
    assert.deepEqual(chunks.flat(), small, 'nothing dropped, nothing reordered');
    const large = Array.from({ length: 5 }, () => ({ value: Buffer.alloc(200 * 1024) }));
    assert.deepEqual(
      deliveryChunks(large).map((chunk) => chunk.length),
      [2, 2, 1],
    );
    const oversized = [{ value: Buffer.alloc(600 * 1024) }, { value: null }];
    assert.deepEqual(
      deliveryChunks(oversized).map((chunk) => chunk.length),
      [1, 1],
      'a message over the bound goes alone',
    );
    assert.deepEqual(deliveryChunks([]), []);
  });
});
