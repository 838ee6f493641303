import type { Producer } from 'kafkajs';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IncidentEvent } from '../../lib/incidents/contracts.js';
import { incidentStore } from '../../lib/stores/incidents.js';
import { createIncidentBridge } from '../../workers/incidentBridge.js';
import { eventually, testConfig, uniqueId, uniqueTenant } from '../support/harness.js';
import { incidentEvent, produceIncidentEvents, tenantWithMonteCarlo } from '../support/incidents.js';
import { spawnApp, spawnWorker } from '../support/processes.js';
import { openStack } from '../support/stack.js';

const INCIDENTS = 40;
const EVENTS_PER_INCIDENT = 40;

const stack = openStack();
const { postgres, cassandra } = stack;
const incidents = incidentStore(cassandra);

/** Each scenario: its own task queue, consumer groups and tenant, whose topics are all its bridges read. */
async function scenario(name: string) {
  const tenant = uniqueTenant(name);
  const config = testConfig({
    METASYNC_TASK_QUEUE: uniqueId(`metasync-${name}`),
    METASYNC_KAFKA_GROUP_PREFIX: uniqueId(`metasync-test-${name}`),
    METASYNC_BRIDGE_TENANTS: tenant,
  });
  stack.dropTopicsAtClose(tenant);
  await tenantWithMonteCarlo(config, postgres, tenant);
  return { config, tenant };
}

/** Every incident's events, interleaved across incidents as a real stream would be: n-th event of each, then n+1. */
function stream(tenant: string): IncidentEvent[] {
  const ids = Array.from({ length: INCIDENTS }, (_, i) => `${tenant}-incident-${i}`);
  return Array.from({ length: EVENTS_PER_INCIDENT }, (_, n) => ids.map((id) => incidentEvent(tenant, id, n))).flat();
}

/** Produces the stream at 200 events/s, 20 every 100 ms; `midway` runs (once) when about a third of it is out. */
async function produceSlowly(producer: Producer, events: IncidentEvent[], midway: () => Promise<void>) {
  const started = Date.now();
  for (let start = 0; start < events.length; start += 20) {
    if (start >= events.length / 3 && start - 20 < events.length / 3) await midway();
    await produceIncidentEvents(producer, events.slice(start, start + 20));
    const due = started + (start / 20 + 1) * 100;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
  }
}

/** Exactly once and in order: each incident counts every distinct event once, and ends on the last one produced. */
async function assertEveryEventAppliedOnce(tenant: string) {
  for (let i = 0; i < INCIDENTS; i++) {
    const id = `${tenant}-incident-${i}`;
    const record = await eventually(
      async () => {
        const found = await incidents.get(tenant, id);
        return found && found.eventsApplied >= EVENTS_PER_INCIDENT ? found : undefined;
      },
      180_000,
      `all events of ${id}`,
    );
    assert.equal(record.eventsApplied, EVENTS_PER_INCIDENT, `${id}: no event applied twice`);
    assert.equal(
      record.owner,
      `owner-${EVENTS_PER_INCIDENT - 1}@example.com`,
      `${id}: the last event is the last applied`,
    );
  }
}

describe('incidents under failure', () => {
  let producer: Producer;

  before(async () => {
    producer = await stack.producer();
  });

  after(() => stack.close());

  it('a bridge killed mid-stream and restarted applies every incident update exactly once', async () => {
    const { config, tenant } = await scenario('bridge-kill');
    const workers = await stack.workers(config);
    let bridge = spawnApp('workers/bridge.ts', config, `test-bridge-${tenant}`);
    try {
      await produceSlowly(producer, stream(tenant), async () => {
        await eventually(() => incidents.get(tenant, `${tenant}-incident-0`), 60_000, 'the bridge at work');
        bridge.kill('SIGKILL');
        await bridge;
      });
      bridge = spawnApp('workers/bridge.ts', config, `test-bridge-${tenant}`);
      await assertEveryEventAppliedOnce(tenant);
    } finally {
      bridge.kill('SIGTERM');
      await bridge;
      await workers.stop();
    }
  });

  it('a worker killed mid-stream and restarted applies every incident update exactly once', async () => {
    const { config, tenant } = await scenario('worker-kill');
    // The in-process bridge as the bridge's principal, dead-lettering with its own producer.
    const bridge = await stack.bridge(createIncidentBridge, `${config.kafka.groupPrefix}-incident-bridge`, { config });
    let worker = spawnWorker(config, `test-worker-${tenant}`);
    try {
      await produceSlowly(producer, stream(tenant), async () => {
        await eventually(() => incidents.get(tenant, `${tenant}-incident-0`), 60_000, 'the worker at work');
        worker.kill('SIGKILL');
        await worker;
        worker = spawnWorker(config, `test-worker-${tenant}`);
      });
      await assertEveryEventAppliedOnce(tenant);
    } finally {
      worker.kill('SIGTERM');
      await worker;
      await bridge.stop();
    }
  });
});
