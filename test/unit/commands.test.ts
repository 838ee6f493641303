import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCommand } from '../../lib/commands.js';

const command = {
  id: 'evt-1',
  type: 'skeleton.requested',
  version: 1,
  tenant: 'acme',
  source: 'test',
  occurredAt: '2026-11-24T10:00:00.000Z',
  payload: { runId: 'run-1', tables: 2, columnsPerTable: 3 },
};
const encode = (value: unknown) => Buffer.from(JSON.stringify(value));
const key = Buffer.from('acme');

describe('decoding commands from Kafka', () => {
  it('accepts a valid command keyed by its tenant, ignoring unknown extra fields', () => {
    const decoded = decodeCommand(key, encode({ ...command, extra: true }), 1024);
    assert.ok(decoded.ok);
    assert.equal(decoded.event.payload.runId, 'run-1');
  });

  const rejected: [string, Buffer | null, Buffer | null, RegExp][] = [
    ['an empty message', key, null, /^empty message/],
    ['malformed JSON', key, Buffer.from('{"id":'), /^malformed JSON/],
    ['an unknown type', key, encode({ ...command, type: 'skeleton.exploded' }), /^invalid event/],
    ['a missing payload field', key, encode({ ...command, payload: { runId: 'r' } }), /tables/],
    ['a bad tenant id', Buffer.from('ACME!'), encode({ ...command, tenant: 'ACME!' }), /tenant id/],
    ['another tenant than its key', Buffer.from('other'), encode(command), /^tenant mismatch.*"other".*"acme"/],
    ['no key', null, encode(command), /^tenant mismatch/],
    ['an oversized message', key, Buffer.alloc(2048, 'x'), /^oversized message: 2048 bytes > 1024/],
  ];
  for (const [what, messageKey, value, reason] of rejected) {
    it(`rejects ${what} with a reason`, () => {
      const decoded = decodeCommand(messageKey, value, 1024);
      assert.equal(decoded.ok, false);
      if (!decoded.ok) assert.match(decoded.reason, reason);
    });
  }
});
