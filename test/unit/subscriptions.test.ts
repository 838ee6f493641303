import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AnnotationChanged } from '../../lib/propagation/contracts.js';
import { sinkTopicProblem, Subscription } from '../../lib/subscriptions/contracts.js';
import {
  grantStatements,
  parseAssetName,
  PERMANENT_SQLSTATES,
  pickName,
} from '../../lib/subscriptions/sinks/postgresEnforcement.js';
import { matches, reshape } from '../../lib/subscriptions/transform.js';
import { decodeAnnotationChanged } from '../../lib/kafka/outbound.js';

const email = 'postgres://shop/app/public/customers/email';
const event: AnnotationChanged = {
  id: 'chg-1/' + email,
  type: 'asset.annotation-changed',
  version: 1,
  tenant: 'acme',
  source: 'propagation',
  occurredAt: '2026-11-24T10:00:00.000Z',
  payload: {
    qualifiedName: email,
    assetType: 'column',
    attribute: 'classification',
    value: 'PII',
    change: 'added',
    attribution: { source: email, path: [email], depth: 0 },
    sequence: 1,
    changeId: 'chg-1',
  },
};
const withPayload = (payload: Partial<AnnotationChanged['payload']>): AnnotationChanged => ({
  ...event,
  payload: { ...event.payload, ...payload },
});

describe('subscription filter', () => {
  it('lets everything through when empty', () => {
    assert.ok(matches({}, event));
  });

  it('keeps only what every given list names', () => {
    const filter = { attributes: ['classification' as const], values: ['PII', 'GDPR'], changes: ['added' as const] };
    assert.ok(matches(filter, event));
    assert.ok(matches(filter, withPayload({ value: 'GDPR' })));
    assert.ok(!matches(filter, withPayload({ value: 'pii' })), 'values are exact');
    assert.ok(!matches(filter, withPayload({ attribute: 'tag' })));
    assert.ok(!matches(filter, withPayload({ change: 'removed' })));
  });

  it('matches no asset type list when the type is not known yet', () => {
    assert.ok(matches({ assetTypes: ['column', 'table'] }, event));
    assert.ok(!matches({ assetTypes: ['table'] }, event));
    assert.ok(!matches({ assetTypes: ['column'] }, withPayload({ assetType: null })));
  });
});

describe('subscription reshape', () => {
  it('keeps the whole event when it has nothing to do', () => {
    assert.deepEqual(reshape({}, event), event);
  });

  it('picks, renames and adds, in that order, leaving out what the event does not have', () => {
    const record = reshape(
      {
        pick: ['id', 'payload.qualifiedName', 'payload.value', 'payload.attribution.source', 'payload.missing'],
        rename: { 'payload.qualifiedName': 'asset', 'payload.value': 'label', absent: 'never' },
        add: { producer: 'metasync', 'meta.version': 2, 'meta.tags': ['a'] },
      },
      event,
    );
    assert.deepEqual(record, {
      id: event.id,
      asset: email,
      label: 'PII',
      payload: { attribution: { source: email } },
      producer: 'metasync',
      meta: { version: 2, tags: ['a'] },
    });
  });

  it('renames without picking, leaving no empty objects behind, and never touches the event', () => {
    const before = structuredClone(event);
    const record = reshape({ rename: { 'payload.attribution': 'from', tenant: 'owner' } }, event);
    assert.equal(record['owner'], 'acme');
    assert.equal(record['tenant'], undefined);
    assert.deepEqual(record['from'], event.payload.attribution);
    assert.equal((record['payload'] as Record<string, unknown>)['attribution'], undefined);
    assert.deepEqual(event, before);
    const moved = reshape({ pick: ['payload.value'], rename: { 'payload.value': 'value' } }, event);
    assert.deepEqual(moved, { value: 'PII' });
  });
});

describe('subscription spec', () => {
  const enforcement = { type: 'postgres-enforcement', connectionId: 'shop', restrictedRoles: ['analyst'] };

  it('defaults the enforced classifications to PII and GDPR, and the filter and reshape to nothing', () => {
    const spec = Subscription.parse({ sink: enforcement });
    assert.deepEqual(spec.sink.type === 'postgres-enforcement' && spec.sink.classifications, ['PII', 'GDPR']);
    assert.deepEqual(spec.filter, {});
    assert.deepEqual(spec.reshape, {});
  });

  const refused: [string, unknown, RegExp][] = [
    ['an unknown sink', { sink: { type: 'webhook' } }, /sink/],
    ['a misspelt field', { filters: {}, sink: enforcement }, /filters/],
    [
      'a sink topic outside metasync.sink.* (an outbound topic would feed itself)',
      { sink: { type: 'kafka', topic: 'metasync.outbound.acme' } },
      /metasync\.sink\.<tenant>\.<name>/,
    ],
    ['a sink topic of no tenant', { sink: { type: 'kafka', topic: 'governance.pii' } }, /metasync\.sink\.<tenant>/],
    [
      'a path through __proto__',
      { reshape: { add: { '__proto__.x': 1 } }, sink: { type: 'kafka', topic: 'metasync.sink.acme.t' } },
      /add/,
    ],
    [
      'a reshape for the enforcement sink',
      { reshape: { pick: ['id'] }, sink: enforcement },
      /reshape is for the kafka sink/,
    ],
    ['no restricted roles', { sink: { ...enforcement, restrictedRoles: [] } }, /restrictedRoles/],
    ['an unknown attribute', { filter: { attributes: ['colour'] }, sink: enforcement }, /attributes/],
  ];
  it("keeps a tenant's Kafka sink to its own sink topics", () => {
    const sink = (topic: string) => Subscription.parse({ sink: { type: 'kafka', topic } }).sink;
    assert.equal(sinkTopicProblem('acme', sink('metasync.sink.acme.pii-feed')), undefined);
    assert.match(sinkTopicProblem('acme', sink('metasync.sink.globex.pii-feed')) ?? '', /not tenant acme's/);
    // acme-eu is another tenant, not a part of acme's prefix.
    assert.match(sinkTopicProblem('acme', sink('metasync.sink.acme-eu.pii-feed')) ?? '', /not tenant acme's/);
    assert.equal(sinkTopicProblem('acme', Subscription.parse({ sink: enforcement }).sink), undefined);
  });

  for (const [what, spec, problem] of refused) {
    it(`refuses ${what}, saying where`, () => {
      const parsed = Subscription.safeParse(spec);
      assert.ok(!parsed.success);
      const said = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n');
      assert.match(said, problem);
    });
  }
});

describe('enforcement names and grants', () => {
  it("reads a table or a column of its own connection, and ignores other connections' assets", () => {
    assert.deepEqual(parseAssetName(email, 'shop'), {
      database: 'app',
      schema: 'public',
      table: 'customers',
      column: 'email',
    });
    assert.deepEqual(parseAssetName('postgres://shop/app/s%20x/My%2FTable', 'shop'), {
      database: 'app',
      schema: 's x',
      table: 'My/Table',
      column: '',
    });
    assert.equal(parseAssetName(email, 'warehouse'), undefined);
    assert.equal(parseAssetName('mysql://shop/app/customers/email', 'shop'), undefined);
    assert.match(parseAssetName('postgres://shop/app/public', 'shop') as string, /not a table or a column/);
    assert.match(
      parseAssetName('postgres://shop/app/public/orders#fk/fk1', 'shop') as string,
      /not a table or a column/,
    );
    assert.match(parseAssetName('postgres://shop/app/public/%E0%A4%A', 'shop') as string, /percent-encoded/);
  });

  it('resolves a name exactly first, then ignoring case, and says when it cannot', () => {
    assert.deepEqual(pickName(['Orders', 'orders'], 'orders', 'table'), { name: 'orders' });
    assert.deepEqual(pickName(['Orders'], 'orders', 'table'), { name: 'Orders' });
    assert.match((pickName(['Orders', 'ORDERS'], 'orders', 'table') as { problem: string }).problem, /ambiguous/);
    assert.match(
      (pickName(['customers'], 'orders', 'table', 'public') as { problem: string }).problem,
      /no table "orders" in public$/,
    );
  });

  const target = { schema: 'public', table: 'Customers', columns: ['id', 'name', 'e"mail'] };
  const had = new Map([
    ['analyst', true],
    ['intern', false],
  ]);

  it('restricts columns: no table-level SELECT, SELECT on the other columns for roles that had it', () => {
    assert.deepEqual(grantStatements(target, new Set(['e"mail']), had), [
      'REVOKE SELECT ON TABLE "public"."Customers" FROM "analyst"',
      'REVOKE SELECT ("e""mail") ON TABLE "public"."Customers" FROM "analyst"',
      'GRANT SELECT ("id", "name") ON TABLE "public"."Customers" TO "analyst"',
      'REVOKE SELECT ON TABLE "public"."Customers" FROM "intern"',
      'REVOKE SELECT ("e""mail") ON TABLE "public"."Customers" FROM "intern"',
    ]);
  });

  it('restricts a whole table: no SELECT at all', () => {
    assert.deepEqual(grantStatements(target, new Set(['', 'name']), new Map([['analyst', true]])), [
      'REVOKE SELECT ON TABLE "public"."Customers" FROM "analyst"',
      'REVOKE SELECT ("id", "name", "e""mail") ON TABLE "public"."Customers" FROM "analyst"',
    ]);
  });

  it('lifts the last restriction: table-level SELECT back only to roles that had it', () => {
    assert.deepEqual(grantStatements(target, new Set(), had), [
      'GRANT SELECT ON TABLE "public"."Customers" TO "analyst"',
      'REVOKE SELECT ("id", "name", "e""mail") ON TABLE "public"."Customers" FROM "analyst"',
    ]);
  });
});

describe('enforcement failures', () => {
  it('takes an undefined role, table, column or schema for good, and anything else as worth retrying', () => {
    for (const code of ['42704', '42P01', '42703', '3F000']) assert.ok(PERMANENT_SQLSTATES.has(code), code);
    // The downstream shutting down, a lock or statement timeout, a refused login, a missing database, no privilege.
    for (const code of ['57P01', '55P03', '57014', '28P01', '3D000', '42501', '08006']) {
      assert.ok(!PERMANENT_SQLSTATES.has(code), code);
    }
  });
});

describe('decoding changes from the outbound topic', () => {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value));
  const key = Buffer.from(email);

  it('accepts a change keyed by its qualified name on its own tenant', () => {
    const decoded = decodeAnnotationChanged('acme', { key, value: encode(event) }, 4096);
    assert.ok(decoded.ok);
    assert.equal(decoded.event.payload.value, 'PII');
  });

  const rejected: [string, string, Buffer | null, Buffer | null, RegExp][] = [
    ['malformed JSON', 'acme', key, Buffer.from('{"id'), /^malformed JSON/],
    ['an empty message', 'acme', key, null, /^empty message/],
    [
      'a change that fails the schema',
      'acme',
      key,
      encode(withPayload({ change: 'toggled' as 'added' })),
      /^invalid event.*change/s,
    ],
    ["another tenant's change", 'other', key, encode(event), /^tenant mismatch/],
    ['a key that is not its qualified name', 'acme', Buffer.from('x'), encode(event), /^key mismatch/],
    [
      'a NUL in a value (PostgreSQL refuses it)',
      'acme',
      key,
      encode(withPayload({ value: 'PII\u0000' })),
      /^invalid event: payload\.value: contains a NUL/,
    ],
  ];
  for (const [what, tenant, messageKey, value, reason] of rejected) {
    it(`rejects ${what} with a reason`, () => {
      const decoded = decodeAnnotationChanged(tenant, { key: messageKey, value }, 4096);
      assert.equal(decoded.ok, false);
      if (!decoded.ok) assert.match(decoded.reason, reason);
    });
  }
});
