import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { IncidentEvent } from '../../lib/incidents/contracts.js';
import {
  MonteCarloAlertUpdateWebhook,
  MonteCarloFullTableId,
  MonteCarloIncidentWebhook,
  MonteCarloMcon,
  MonteCarloWebhook,
} from '../../lib/incidents/monteCarlo/contracts.js';
import { type RawRecord, type SourceType } from '../../lib/ingest/contracts.js';
import { EventEnvelope } from '../../lib/kafka/envelope.js';
import { loadDefaultRules, mapRecord, type RuleSet } from '../../lib/mapping/index.js';
import {
  decodeMonteCarloWebhook,
  formatFullTableId,
  monteCarloSignedText,
  parseFullTableId,
  parseGroupTable,
  parseMcon,
  parseTableIdentifier,
  qualifiedNameFor,
  signMonteCarloBody,
  tableRefFromMcon,
  toIncidentEvent,
  verifyMonteCarloSignature,
} from '../../lib/incidents/monteCarlo/index.js';
import { contractJsonSchemas, schemaDir } from '../../starters/contractSchemas.js';

const fixtureDir = new URL('../fixtures/montecarlo/', import.meta.url);
const fixtureNames = readdirSync(fixtureDir).filter((file) => file.endsWith('.json'));
const fixture = (name: string): Buffer => readFileSync(new URL(name, fixtureDir));
const fixtureJson = (name: string): Record<string, unknown> =>
  JSON.parse(fixture(name).toString('utf8')) as Record<string, unknown>;
const encode = (value: unknown) => Buffer.from(JSON.stringify(value));
const parseWebhook = (name: string) => MonteCarloWebhook.parse(fixtureJson(name));
const secret = 'Zl8sQbX2m4cJ5o0wYkqV3rT9uHnE1dGfA7pLxWzCyB6iN-Kj_eRt';
const receivedAt = new Date('2026-11-24T10:00:00.000Z');

describe('Monte Carlo webhooks: the contract', () => {
  const expectedKinds: Record<string, string> = {
    'anomaly-incident.json': 'incident',
    'custom-rule-incident.json': 'incident',
    'alert-update.json': 'alert-update',
    'alert-resolved.json': 'alert-update',
  };

  it('has the documented fixtures, each decoded as its kind', () => {
    assert.deepEqual(fixtureNames.sort(), Object.keys(expectedKinds).sort());
    for (const name of fixtureNames) {
      const decoded = decodeMonteCarloWebhook(fixture(name), 1 << 20);
      assert.ok(decoded.ok, `${name}: ${decoded.ok ? '' : decoded.reason}`);
      assert.equal(decoded.kind, expectedKinds[name], name);
      assert.ok(MonteCarloWebhook.safeParse(fixtureJson(name)).success, name);
    }
  });

  it('accepts, and keeps, fields Monte Carlo may add later', () => {
    const body = fixtureJson('custom-rule-incident.json');
    const payload = body.payload as { event_list: Record<string, unknown>[] };
    const event = payload.event_list[0] ?? {};
    const extended = {
      ...body,
      delivered_by: 'mc-notifier',
      account: { id: 'acct', names: ['Acme'] },
      payload: { ...payload, priority: 'P2', event_list: [{ ...event, monitor_uuid: 'm-1' }] },
    };
    const decoded = decodeMonteCarloWebhook(encode(extended), 1 << 20);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
    assert.equal(decoded.webhook.delivered_by, 'mc-notifier');
    assert.deepEqual(decoded.webhook.account.names, ['Acme']);
    assert.equal(decoded.webhook.payload.priority, 'P2');
    assert.equal(decoded.webhook.payload.event_list?.[0]?.monitor_uuid, 'm-1');
  });

  const anomaly = fixtureJson('anomaly-incident.json');
  const anomalyPayload = anomaly.payload as Record<string, unknown>;
  const update = fixtureJson('alert-update.json');
  const customRule = fixtureJson('custom-rule-incident.json');
  const withComparisonTable = (fullTableId: unknown) => {
    const copy = structuredClone(customRule) as { payload: { event_list: { rule: { comparisons: object[] } }[] } };
    const rule = copy.payload.event_list[0]?.rule;
    if (rule) rule.comparisons = [{ ...rule.comparisons[0], full_table_id: fullTableId }];
    return copy;
  };
  const rejected: [string, Buffer, RegExp][] = [
    ['an empty body', Buffer.alloc(0), /^empty body/],
    ['malformed JSON', Buffer.from('{"action":'), /^malformed JSON/],
    ['an oversized body', Buffer.alloc(2 << 20, ' '), /^oversized body: 2097152 bytes > 1048576/],
    [
      'a missing incident id',
      encode({ ...anomaly, payload: { ...anomalyPayload, incident_id: undefined } }),
      /incident_id/,
    ],
    ['an empty incident id', encode({ ...anomaly, payload: { ...anomalyPayload, incident_id: '' } }), /incident_id/],
    ['a wrong action', encode({ ...anomaly, action: 'alert' }), /expected "incident"[\s\S]*action/],
    ['a missing account id', encode({ ...anomaly, account: {} }), /account\.id/],
    ['a non-array event_list', encode({ ...anomaly, payload: { ...anomalyPayload, event_list: {} } }), /event_list/],
    [
      'a bad group_id',
      encode({ ...anomaly, payload: { ...anomalyPayload, group_id: 'zeus' } }),
      /group id is db:schema/,
    ],
    [
      'a bad full_table_id',
      encode(withComparisonTable('orders')),
      /full table id is db:schema\.table[\s\S]*full_table_id/,
    ],
    ['a numeric full_table_id', encode(withComparisonTable(42)), /full_table_id/],
    ['a bad type', encode({ ...anomaly, type: 'Open Anomaly' }), /snake_case/],
    ['an undocumented feedback', encode({ ...update, alert_feedback: 'snoozed' }), /alert_feedback/],
    [
      'an undocumented severity',
      encode({ ...update, payload: { ...(update.payload as object), declared_alert_severity: 'P1' } }),
      /declared_alert_severity/,
    ],
    [
      'a bad MCON',
      encode({ ...anomaly, payload: { ...anomalyPayload, event_list: [{ table_name: 't', mcon: 'MCON++x' }] } }),
      /an MCON is/,
    ],
  ];
  for (const [what, body, reason] of rejected) {
    it(`rejects ${what} with a readable reason`, () => {
      const decoded = decodeMonteCarloWebhook(body, 1 << 20);
      assert.equal(decoded.ok, false);
      if (!decoded.ok) assert.match(decoded.reason, reason);
    });
  }

  it('tells an alert update from an opening', () => {
    const opening = MonteCarloAlertUpdateWebhook.safeParse(anomaly);
    assert.equal(opening.success, false);
    assert.match(opening.error?.message ?? '', /an alert update sets alert_feedback/);
    // Unmarking clears the severity but leaves the feedback marking had set.
    const unmarked = { ...update, payload: { ...(update.payload as object), declared_alert_severity: null } };
    assert.ok(MonteCarloAlertUpdateWebhook.safeParse(unmarked).success);
    const minimal = { account: { id: 'a' }, action: 'incident', version: 'v0.1', payload: { incident_id: 'i' } };
    assert.ok(MonteCarloAlertUpdateWebhook.safeParse({ ...minimal, owner: 'x@example.com' }).success);
    assert.equal(MonteCarloIncidentWebhook.safeParse(minimal).success, false, 'an opening has a type and events');
  });
});

describe('Monte Carlo webhooks: the signature', () => {
  it('signs and verifies every fixture', () => {
    for (const name of fixtureNames) {
      const body = fixture(name);
      const signature = signMonteCarloBody(body, secret);
      assert.match(signature, /^[0-9a-f]{128}$/);
      assert.ok(verifyMonteCarloSignature(body, signature, secret), name);
    }
  });

  const body = fixture('alert-update.json');
  const signature = signMonteCarloBody(body, secret);
  const refusals: [string, Buffer, string | undefined, string][] = [
    ['a wrong secret', body, signature, `${secret}x`],
    ['a tampered body', Buffer.from(body.toString().replace('SEV-2', 'SEV-1')), signature, secret],
    ['a missing header', body, undefined, secret],
    ['an empty header', body, '', secret],
    ['a truncated header', body, signature.slice(0, -2), secret],
    ['a longer header', body, `${signature}00`, secret],
    ['a header of multi-byte characters', body, 'é'.repeat(64), secret],
    ['uppercase hex (compare_digest is exact)', body, signature.toUpperCase(), secret],
    ['a sha512= prefix', body, `sha512=${signature}`, secret],
    ['an empty secret', body, signMonteCarloBody(body, ''), ''],
    ['a body that is not JSON', Buffer.from('not json'), signature, secret],
    ['a body that is not an object', Buffer.from('[1]'), signature, secret],
  ];
  for (const [what, signedBody, header, key] of refusals) {
    it(`refuses ${what}`, () => assert.equal(verifyMonteCarloSignature(signedBody, header, key), false));
  }

  it('matches a known answer, computed independently with Python and openssl', () => {
    // python3: urllib.parse.urlencode(json.loads(body)); then printf %s "$text" | openssl dgst -sha512 -hmac ...
    const known = Buffer.from(
      `{"action": "incident", "payload": {"incident_id": "f83867b6", "threshold": 49.0, "owner": "O'Brien", ` +
        `"tables": ["zeus:ares.artemis"]}, "type": "open_anomaly_incident"}`,
    );
    assert.equal(
      monteCarloSignedText(known),
      'action=incident&payload=%7B%27incident_id%27%3A+%27f83867b6%27%2C+%27threshold%27%3A+49.0%2C+%27owner%27%3A+' +
        '%22O%27Brien%22%2C+%27tables%27%3A+%5B%27zeus%3Aares.artemis%27%5D%7D&type=open_anomaly_incident',
    );
    assert.equal(
      signMonteCarloBody(known, 'mc-webhook-secret'),
      'a92af6322ee1b66d33b5b873339f974e9407204a1aabaa98a2f3f2a62ad064fe122b18e4428f680f114ce766bf2b71b41a233148f9bce549ce5f5bf324e8a4e8',
    );
  });

  it('covers the parsed body: whitespace is free, key order and 1 versus 1.0 are not', () => {
    const text = fixture('custom-rule-incident.json').toString('utf8');
    const minified = text.replace(/("(?:[^"\\]|\\.)*")|\s+/g, (_, string?: string) => string ?? '');
    const sign = (variant: string) => signMonteCarloBody(Buffer.from(variant), secret);
    assert.notEqual(minified, text);
    assert.equal(sign(minified), sign(text));
    assert.notEqual(sign(text.replaceAll('"threshold": 49.0', '"threshold": 49')), sign(text));
    assert.notEqual(
      sign(minified.replace('{"account":{"id":"9a59c6f1-203a-4c72-8cd7-132db7f21b92"},', '{')),
      sign(text),
    );
    const reordered = JSON.stringify({ version: 'v0.1', ...fixtureJson('anomaly-incident.json') });
    const original = JSON.stringify(fixtureJson('anomaly-incident.json'));
    assert.notEqual(sign(reordered), sign(original));
  });

  it("agrees with Monte Carlo's documented verifier (run in python3) on every fixture and on odd text", async () => {
    const odd = Buffer.from(
      String.raw`{"owner": "Zo\u00eb \"Z\" O'Neil", "1": "a b&c=d/e~f", "payload": {"2": [1e-5, 1e16, 123.456, -0.0, ` +
        String.raw`12345678901234567890, true, null, NaN], "ctl": "\u0007\u00a0\u200b\ud83d\ude00\ud800"}}`,
    );
    const bodies = [...fixtureNames.map(fixture), odd];
    const reference = [
      'import hashlib, hmac, json, sys, urllib.parse',
      'for text in json.load(sys.stdin):',
      '    body = json.loads(text)',
      '    body_as_bytes = urllib.parse.urlencode(body).encode("utf8")',
      '    print(hmac.new(sys.argv[1].encode(), body_as_bytes, hashlib.sha512).hexdigest())',
    ].join('\n');
    const python = promisify(execFile)('python3', ['-c', reference, secret]);
    python.child.stdin?.end(JSON.stringify(bodies.map((body) => body.toString('utf8'))));
    const { stdout } = await python;
    assert.deepEqual(
      stdout.trim().split('\n'),
      bodies.map((body) => signMonteCarloBody(body, secret)),
    );
  });
});

describe('Monte Carlo webhooks: table names', () => {
  const ref = (database: string, schema: string, table: string) => ({ database, schema, table });
  const fullTableIds: [string, ReturnType<typeof ref> | null][] = [
    ['analytics:prod.orders', ref('analytics', 'prod', 'orders')],
    ['dev:jaffle_shop.stg_orders.v2', ref('dev', 'jaffle_shop', 'stg_orders.v2')],
    ['ANALYTICS:Prod.Orders', ref('ANALYTICS', 'Prod', 'Orders')],
    ['"my:db":"sch.x"."t""q"', ref('my:db', 'sch.x', 't"q')],
    ['`proj-1`:`data.set`.`tbl`', ref('proj-1', 'data.set', 'tbl')],
    ['db:sch."a.b"', ref('db', 'sch', 'a.b')],
    ['db:s.t w space', ref('db', 's', 't w space')],
    ['orders', null],
    ['db:orders', null],
    [':s.t', null],
    ['db:.t', null],
    ['db:s.', null],
    ['"db:s.t', null],
    ['"db"x:s.t', null],
    ['db:""."t"', null],
  ];

  it('parses full table ids, and the contract agrees on which are ones', () => {
    for (const [id, expected] of fullTableIds) {
      assert.deepEqual(parseFullTableId(id), expected, id);
      assert.equal(MonteCarloFullTableId.safeParse(id).success, expected !== null, id);
    }
  });

  it('formats names back into a full table id that parses to the same names', () => {
    for (const [, expected] of fullTableIds) {
      if (expected) assert.deepEqual(parseFullTableId(formatFullTableId(expected)), expected);
    }
    assert.equal(formatFullTableId(ref('analytics', 'prod', 'orders')), 'analytics:prod.orders');
    assert.equal(formatFullTableId(ref('a:b', 'c.d', '"e')), '"a:b":"c.d"."""e"');
    const group = parseGroupTable('zeus:ares.x', 'artemis');
    assert.deepEqual(group, ref('zeus', 'ares.x', 'artemis'));
    assert.deepEqual(parseFullTableId(formatFullTableId(group ?? ref('', '', ''))), group);
  });

  it('parses a group id with a table name', () => {
    assert.deepEqual(parseGroupTable('zeus:ares', 'artemis'), ref('zeus', 'ares', 'artemis'));
    assert.deepEqual(parseGroupTable('"a:b":`c`', '"Art.emis"'), ref('a:b', 'c', 'Art.emis'));
    assert.deepEqual(parseGroupTable('zeus:ares', 'art.emis'), ref('zeus', 'ares', 'art.emis'));
    assert.equal(parseGroupTable('zeus', 'artemis'), null);
    assert.equal(parseGroupTable('zeus:ares', ''), null);
  });

  const account = '12345678-1234-5678-1234-567812345678';
  const resource = '21345678-1234-5678-1234-567812345678';
  it('parses MCONs as pycarlo does, and takes a table from table and view MCONs only', () => {
    const table = `MCON++${account}++${resource}++table++db:sch.tbl`;
    assert.deepEqual(parseMcon(table), {
      accountId: account,
      resourceId: resource,
      objectType: 'table',
      objectId: 'db:sch.tbl',
    });
    const field = `MCON++${account}++${resource}++field++db:sch.tbl+++field_id`;
    assert.equal(parseMcon(field)?.objectId, 'db:sch.tbl+++field_id');
    assert.deepEqual(tableRefFromMcon(table), ref('db', 'sch', 'tbl'));
    assert.deepEqual(tableRefFromMcon(`MCON++${account}++${resource}++view++db:sch.v`), ref('db', 'sch', 'v'));
    assert.equal(tableRefFromMcon(field), null);
    assert.equal(tableRefFromMcon(`MCON++${account}++${resource}++project++gcp-project1`), null);
    for (const bad of [
      'invalid',
      `mcon++${account}++${resource}++table++d:s.t`,
      `MCON++123++${resource}++table++d:s.t`,
      `MCON++${account}++${resource}++table`,
    ]) {
      assert.equal(parseMcon(bad), null, bad);
      assert.equal(MonteCarloMcon.safeParse(bad).success, false, bad);
    }
    assert.ok(MonteCarloMcon.safeParse(table).success);
    assert.deepEqual(parseTableIdentifier(table), ref('db', 'sch', 'tbl'));
    assert.deepEqual(parseTableIdentifier('db:sch.tbl'), ref('db', 'sch', 'tbl'));
  });

  const rules = loadDefaultRules();
  const lowerCased = (sourceType: SourceType): RuleSet => {
    const copy = structuredClone(rules);
    copy.sources[sourceType].nameCase = 'lower';
    return copy;
  };
  const names = [
    ref('analytics', 'prod', 'orders'),
    ref('Sales DB', 'Öffentlich', 'Order "Items"/2024.v2'),
    ref('a:b', 'c.d', '#e%f'),
  ];

  it('names a table exactly as ingestion names the same table, on every source type and name case', () => {
    for (const sourceType of ['postgres', 'ndjson', 'mysql'] as const) {
      for (const ruleSet of [rules, lowerCased(sourceType)]) {
        for (const name of names) {
          const connection = { sourceType, connectionId: 'warehouse-1' };
          const path = sourceType === 'mysql' ? [name.schema, name.table] : [name.database, name.schema, name.table];
          const record: RawRecord = { kind: 'table', path, attributes: {} };
          const mapped = mapRecord(record, connection, ruleSet);
          assert.ok(mapped.ok, mapped.ok ? '' : mapped.reason);
          assert.equal(
            qualifiedNameFor(name, connection, ruleSet),
            mapped.asset.qualifiedName,
            `${sourceType} ${path.join('/')}`,
          );
        }
      }
    }
    assert.equal(
      qualifiedNameFor(
        parseFullTableId('analytics:prod.orders') ?? names[0]!,
        { sourceType: 'postgres', connectionId: 'pg' },
        rules,
      ),
      'postgres://pg/analytics/prod/orders',
    );
  });
});

describe('Monte Carlo webhooks: incident events', () => {
  it('opens an anomaly incident on the tables of its group', () => {
    const event = toIncidentEvent(parseWebhook('anomaly-incident.json'), 'acme', receivedAt);
    assert.equal(event.type, 'incident.opened');
    assert.equal(event.occurredAt, '2026-11-24T10:00:00.000Z');
    assert.deepEqual(event.payload, {
      incidentId: 'f83867b6-8f25-428b-807c-08518f63384c',
      incidentType: 'open_anomaly_incident',
      monteCarloAccountId: '9a59c6f1-203a-4c72-8cd7-132db7f21b92',
      tables: [
        { fullTableId: 'zeus:ares.apollo', mcon: null, database: 'zeus', schema: 'ares', table: 'apollo' },
        { fullTableId: 'zeus:ares.artemis', mcon: null, database: 'zeus', schema: 'ares', table: 'artemis' },
      ],
      tablesOmitted: 0,
      url: 'https://getmontecarlo.com/incidents/f83867b6-8f25-428b-807c-08518f63384c',
    });
  });

  it('opens a custom rule incident on the tables of its comparisons, with feedback and severity unset', () => {
    const event = toIncidentEvent(parseWebhook('custom-rule-incident.json'), 'acme', receivedAt);
    assert.equal(event.type, 'incident.opened');
    assert.deepEqual(
      event.payload.tables.map((table) => table.fullTableId),
      ['analytics:prod.order_items', 'analytics:prod.orders'],
    );
    assert.equal(event.payload.feedback, null);
    assert.equal(event.payload.severity, null);
    assert.equal('owner' in event.payload, false, 'not carried, so unchanged');
  });

  it('updates and resolves with the feedback, severity and owner the webhook sets', () => {
    const updated = toIncidentEvent(parseWebhook('alert-update.json'), 'acme', receivedAt);
    assert.equal(updated.type, 'incident.updated');
    assert.deepEqual(
      [updated.payload.feedback, updated.payload.severity, updated.payload.owner],
      ['investigating', 'SEV-2', 'dana.ops@example.com'],
    );
    const resolved = toIncidentEvent(parseWebhook('alert-resolved.json'), 'acme', receivedAt);
    assert.equal(resolved.type, 'incident.resolved');
    assert.equal(resolved.payload.feedback, 'fixed');
    const atTop = MonteCarloWebhook.parse({
      account: { id: 'a' },
      action: 'incident',
      version: 'v0.1',
      payload: { incident_id: 'i', declared_alert_severity: null },
      alert_feedback: 'false_positive',
    });
    const fromTop = toIncidentEvent(atTop, 'acme', receivedAt);
    assert.equal(fromTop.type, 'incident.resolved');
    assert.deepEqual([fromTop.payload.severity, fromTop.payload.incidentType, fromTop.payload.url], [null, null, null]);
  });

  it('gives a redelivered webhook the same id, whatever its layout and arrival time', () => {
    const text = fixture('custom-rule-incident.json').toString('utf8');
    const webhook = MonteCarloWebhook.parse(JSON.parse(text));
    const relaidOut = MonteCarloWebhook.parse(JSON.parse(JSON.stringify({ version: 'v0.1', ...JSON.parse(text) })));
    const first = toIncidentEvent(webhook, 'acme', receivedAt);
    assert.deepEqual(toIncidentEvent(webhook, 'acme', receivedAt), first);
    assert.equal(toIncidentEvent(relaidOut, 'acme', new Date('2026-11-25T00:00:00Z')).id, first.id);
    assert.notEqual(toIncidentEvent(webhook, 'globex', receivedAt).id, first.id);
    const changed = MonteCarloWebhook.parse(JSON.parse(text.replace('"value": "50.0"', '"value": "51.0"')));
    assert.notEqual(toIncidentEvent(changed, 'acme', receivedAt).id, first.id);
    assert.match(first.id, /^monte-carlo-[0-9a-f]{64}$/);
  });

  it('keeps events small and valid: no raw webhook inside, one ref per table, at most 1000 refs', () => {
    for (const name of fixtureNames) {
      const event = toIncidentEvent(parseWebhook(name), 'acme', receivedAt);
      assert.ok(IncidentEvent.safeParse(event).success && EventEnvelope.safeParse(event).success, name);
      const json = JSON.stringify(event);
      assert.ok(!json.includes('event_list') && !json.includes('Has 42 rows') && json.length < 2000, name);
    }
    const mcon = `MCON++12345678-1234-5678-1234-567812345678++21345678-1234-5678-1234-567812345678++table++zeus:ares.t0`;
    const events = Array.from({ length: 1005 }, (_, index) => ({ table_name: `t${index}` }));
    events.push({ table_name: 't0', mcon } as (typeof events)[number]);
    const big = MonteCarloWebhook.parse({
      ...fixtureJson('anomaly-incident.json'),
      payload: { ...(fixtureJson('anomaly-incident.json').payload as object), event_list: events },
    });
    const event = toIncidentEvent(big, 'acme', receivedAt);
    assert.equal(event.payload.tables.length, 1000);
    assert.equal(event.payload.tablesOmitted, 5);
    assert.deepEqual(event.payload.tables[0], {
      fullTableId: 'zeus:ares.t0',
      mcon,
      database: 'zeus',
      schema: 'ares',
      table: 't0',
    });
  });
});

describe('contract JSON Schemas', () => {
  it('are committed exactly as generated from the zod schemas (npm run contracts:schemas)', () => {
    const fresh = contractJsonSchemas();
    const committed = readdirSync(schemaDir).filter((file) => file.endsWith('.json'));
    assert.deepEqual(
      committed.sort(),
      Object.keys(fresh)
        .map((name) => `${name}.json`)
        .sort(),
    );
    for (const [name, schema] of Object.entries(fresh)) {
      assert.deepEqual(JSON.parse(readFileSync(`${schemaDir}${name}.json`, 'utf8')), schema, `${name}.json is stale`);
    }
  });
});
