import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCommand } from '../../lib/kafka/commands.js';

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
    const decoded = decodeCommand(key, encode({ ...command, extra: true }), 1024, 'acme');
    assert.ok(decoded.ok);
    assert.equal(decoded.event.type, 'skeleton.requested');
    assert.equal(decoded.event.type === 'skeleton.requested' && decoded.event.payload.runId, 'run-1');
  });

  const annotation = {
    ...command,
    type: 'asset.annotation-requested',
    payload: {
      qualifiedName: 'postgres://shop/shop/public/customers/email',
      op: 'add',
      attribute: 'classification',
      value: 'PII',
      actor: 'test',
    },
  };
  it('accepts an annotation request', () => {
    const decoded = decodeCommand(key, encode(annotation), 4096, 'acme');
    assert.ok(decoded.ok);
    assert.equal(decoded.event.type, 'asset.annotation-requested');
  });
  it('rejects an annotation request with a malformed classification or an unknown op, saying which', () => {
    const badLabel = decodeCommand(
      key,
      encode({ ...annotation, payload: { ...annotation.payload, value: 'P I I' } }),
      4096,
      'acme',
    );
    assert.ok(
      !badLabel.ok && /a classification or tag is a letter.*payload\.value/s.test(badLabel.reason),
      JSON.stringify(badLabel),
    );
    const badOp = decodeCommand(
      key,
      encode({ ...annotation, payload: { ...annotation.payload, op: 'toggle' } }),
      4096,
      'acme',
    );
    assert.ok(!badOp.ok && /op/.test(badOp.reason), JSON.stringify(badOp));
    const noName = decodeCommand(
      key,
      encode({ ...annotation, payload: { ...annotation.payload, qualifiedName: '' } }),
      4096,
      'acme',
    );
    assert.ok(!noName.ok && /qualifiedName/.test(noName.reason), JSON.stringify(noName));
  });

  const rejected: [string, Buffer | null, Buffer | null, RegExp][] = [
    ['an empty message', key, null, /^empty message/],
    ['malformed JSON', key, Buffer.from('{"id":'), /^malformed JSON/],
    ['an unknown type', key, encode({ ...command, type: 'skeleton.exploded' }), /^invalid event/],
    ['a missing payload field', key, encode({ ...command, payload: { runId: 'r' } }), /tables/],
    ['a bad tenant id', Buffer.from('ACME!'), encode({ ...command, tenant: 'ACME!' }), /tenant id/],
    [
      'a key of another tenant than its topic',
      Buffer.from('other'),
      encode(command),
      /^tenant mismatch: message key is "other" on tenant "acme"'s topic/,
    ],
    [
      'another tenant than its topic, keyed alike',
      Buffer.from('other'),
      encode({ ...command, tenant: 'other' }),
      /^tenant mismatch: the event claims "other" on tenant "acme"'s topic/,
    ],
    [
      'another tenant than its topic, keyed as the topic',
      key,
      encode({ ...command, tenant: 'other' }),
      /^tenant mismatch: the event claims "other"/,
    ],
    ['no key', null, encode(command), /^tenant mismatch/],
    ['an oversized message', key, Buffer.alloc(2048, 'x'), /^oversized message: 2048 bytes > 1024/],
  ];
  for (const [what, messageKey, value, reason] of rejected) {
    it(`rejects ${what} with a reason`, () => {
      const decoded = decodeCommand(messageKey, value, 1024, 'acme');
      assert.equal(decoded.ok, false);
      if (!decoded.ok) assert.match(decoded.reason, reason);
    });
  }
});
