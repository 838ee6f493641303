import kafkajs from 'kafkajs';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  aclEntries,
  serviceGrants,
  servicePrincipal,
  SERVICES,
  tenantGrants,
  tenantGroupPrefix,
  tenantPrincipal,
  type Grant,
} from '../../lib/kafka/access.js';
import {
  inboundTopic,
  outboundTopic,
  parseInboundTopic,
  sinkTopicPrefix,
  tenantTopics,
} from '../../lib/kafka/topics.js';

/** Whether `grant` covers `name` (Kafka's rule: a literal matches itself, a prefix what starts with it). */
const covers = (grant: Grant, name: string) =>
  grant.pattern === 'literal' ? grant.name === name : name.startsWith(grant.name);
const may = (grants: Grant[], principal: string, resource: Grant['resource'], name: string, operation: string) =>
  grants.some(
    (grant) =>
      grant.principal === principal &&
      grant.resource === resource &&
      covers(grant, name) &&
      (grant.operations as readonly string[]).includes(operation),
  );

describe('Kafka topics of a tenant', () => {
  it('names the tenant in every topic, and reads it back from an inbound topic', () => {
    assert.equal(inboundTopic('acme', 'incidents'), 'metasync.inbound.acme.incidents');
    assert.deepEqual(parseInboundTopic('metasync.inbound.acme-eu.lineage'), { tenant: 'acme-eu', kind: 'lineage' });
    assert.deepEqual(tenantTopics('acme'), [
      'metasync.inbound.acme.commands',
      'metasync.inbound.acme.incidents',
      'metasync.inbound.acme.lineage',
      'metasync.outbound.acme',
    ]);
  });

  it('reads no tenant from a name that is not an inbound topic', () => {
    for (const topic of [
      'metasync.inbound.acme.other',
      'metasync.inbound.acme.commands.extra',
      'metasync.inbound.Acme.commands',
      'metasync.inbound..commands',
      'metasync.outbound.acme',
      'metasync.commands',
    ]) {
      assert.equal(parseInboundTopic(topic), undefined, topic);
    }
  });
});

describe('Kafka ACLs (lib/kafka/access.ts)', () => {
  const grants = [...serviceGrants('metasync'), ...tenantGrants('acme'), ...tenantGrants('acme-eu')];
  const acme = tenantPrincipal('acme');

  it("keeps a tenant's prefixes apart from a tenant whose id starts the same", () => {
    assert.ok(may(grants, acme, 'topic', inboundTopic('acme', 'commands'), 'write'));
    assert.ok(!may(grants, acme, 'topic', inboundTopic('acme-eu', 'commands'), 'write'));
    assert.ok(may(grants, acme, 'topic', outboundTopic('acme'), 'read'));
    assert.ok(!may(grants, acme, 'topic', outboundTopic('acme-eu'), 'read'));
    assert.ok(may(grants, acme, 'topic', `${sinkTopicPrefix('acme')}feed`, 'read'));
    assert.ok(!may(grants, acme, 'topic', `${sinkTopicPrefix('acme-eu')}feed`, 'read'));
    assert.ok(may(grants, acme, 'group', `${tenantGroupPrefix('acme')}tool`, 'read'));
    assert.ok(!may(grants, acme, 'group', `${tenantGroupPrefix('acme-eu')}tool`, 'read'));
    assert.ok(!may(grants, acme, 'group', 'metasync-command-bridge', 'read'));
  });

  it('lets no tenant write an outbound topic, and only the worker of all the services', () => {
    const writers = [...SERVICES.map(servicePrincipal), acme].filter((principal) =>
      may(grants, principal, 'topic', outboundTopic('acme'), 'write'),
    );
    assert.deepEqual(writers, [servicePrincipal('worker')]);
  });

  it("lets no service but the API write a tenant's inbound topics, and none but the bridge read them", () => {
    const inbound = inboundTopic('acme', 'commands');
    const principals = SERVICES.map(servicePrincipal);
    assert.deepEqual(
      principals.filter((principal) => may(grants, principal, 'topic', inbound, 'write')),
      [servicePrincipal('api')],
    );
    assert.deepEqual(
      principals.filter((principal) => may(grants, principal, 'topic', inbound, 'read')),
      [servicePrincipal('bridge')],
    );
  });

  it('turns each operation of a grant into one ALLOW binding of its principal', () => {
    const entries = aclEntries(tenantGrants('acme'));
    assert.equal(entries.length, 4);
    assert.ok(entries.every((entry) => entry.principal === 'User:tenant-acme' && entry.host === '*'));
    assert.ok(entries.every((entry) => entry.permissionType === kafkajs.AclPermissionTypes.ALLOW));
    const inbound = entries.find((entry) => entry.resourceName === 'metasync.inbound.acme.');
    assert.equal(inbound?.resourcePatternType, kafkajs.ResourcePatternTypes.PREFIXED);
    assert.equal(inbound?.operation, kafkajs.AclOperationTypes.WRITE);
  });
});
