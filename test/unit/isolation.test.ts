import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as objectKeys from '../../lib/platform/objectKeys.js';
import { runSearchAttributes, TenantIdAttribute } from '../../lib/temporal/searchAttributes.js';
import { incidentMessage, lineageKey, outboundTopic } from '../../lib/kafka/topics.js';
import * as workflowIds from '../../lib/temporal/workflowIds.js';
import { incidentEvent } from '../support/incidents.js';

/**
 * Where tenant isolation is a matter of layout, the layout is checked: the tenant leads every Cassandra partition
 * key, every S3 key, every workflow id and every inbound Kafka key. The integration suite (isolation.test.ts)
 * checks the behaviour.
 */

const tenant = 'tenant-a';
const schemaDir = new URL('../../schema/cassandra/', import.meta.url);

describe('tenant isolation by layout', () => {
  it('leads every Cassandra partition key with the tenant', () => {
    const tables: string[] = [];
    for (const file of readdirSync(schemaDir).filter((name) => name.endsWith('.cql'))) {
      const cql = readFileSync(new URL(file, schemaDir), 'utf8').replace(/--.*$/gm, '');
      for (const [, table, body] of cql.matchAll(/CREATE TABLE IF NOT EXISTS ([\w.]+) \(([\s\S]*?)\n\)[^;]*;/g)) {
        const primaryKey = /PRIMARY KEY \(\s*(\([^)]*\)|\w+)/.exec(body!)?.[1];
        assert.ok(primaryKey, `${file}: ${table} declares a primary key`);
        const partition = primaryKey
          .replace(/[()]/g, '')
          .split(',')
          .map((column) => column.trim());
        assert.equal(
          partition[0],
          'tenant',
          `${file}: ${table}'s partition key (${partition.join(', ')}) starts with tenant`,
        );
        tables.push(table!);
      }
    }
    assert.ok(tables.length >= 10, `every table was read (${tables.join(', ')})`);
  });

  it("keeps every S3 object under its tenant's prefix", () => {
    const prefix = `tenants/${tenant}/`;
    assert.equal(objectKeys.tenantPrefix(tenant), prefix);
    assert.ok(objectKeys.skeletonObjectKey(tenant, 'run').startsWith(prefix));
    assert.ok(objectKeys.deadLetterKey(tenant, `metasync.inbound.${tenant}.commands`, 0, '1', 'ab').startsWith(prefix));
    assert.ok(
      objectKeys
        .deadLetterKey(undefined, `metasync.inbound.${tenant}.commands`, 0, '1', 'ab')
        .startsWith('unattributed/'),
    );
    assert.ok(objectKeys.connectionRunPrefix(tenant, 'warehouse', 'run').startsWith(prefix));
    const run = objectKeys.runObjectKeys(tenant, 'warehouse', 'run');
    for (const key of [
      run.prefix,
      run.manifest,
      run.rules,
      run.rawPrefix,
      run.rawBucketPrefix('columns', 1),
      run.rawPart('containers', 2, 3),
      run.containerState(4),
    ]) {
      assert.ok(key.startsWith(prefix), key);
    }
  });

  it('names the tenant in every workflow id, and every run carries the TenantId search attribute', () => {
    const ids = [
      workflowIds.skeletonWorkflowId(tenant, 'run'),
      workflowIds.ingestWorkflowId(tenant, 'warehouse', 'run'),
      workflowIds.incidentPartitionWorkflowId(tenant, 0),
      workflowIds.propagationWorkflowId(tenant, 'postgres://w/db/s/t', (text) => text),
      workflowIds.changeWorkflowId(tenant, 'change'),
    ];
    for (const id of ids) assert.equal(id.split('/')[1], tenant, id);
    assert.equal(Object.keys(workflowIds).length, ids.length, 'every workflow id builder is checked');
    const attributes = runSearchAttributes(tenant, 'ingest', 'warehouse');
    assert.deepEqual(attributes.find((pair) => pair.key.name === TenantIdAttribute.name)?.value, tenant);
  });

  it('keys and labels every inbound Kafka message with its tenant', () => {
    const message = incidentMessage(incidentEvent(tenant, 'incident-1', 0));
    assert.ok(String(message.key).startsWith(`${tenant}/`));
    assert.equal(String(message.headers?.['tenant']), tenant);
    assert.ok(lineageKey(tenant, { namespace: 'ns', name: 'job' }).startsWith(`${tenant}/`));
    assert.equal(outboundTopic(tenant), `metasync.outbound.${tenant}`);
  });
});
