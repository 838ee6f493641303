import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import type { IncidentRecord } from '../../lib/incidents/contracts.js';
import type { EstateAsset, EstateAssetType, LoadedAsset } from '../../lib/ingest/contracts.js';
import { containerQualifiedName, qualifiedName } from '../../lib/mapping/qualifiedName.js';
import { lakeWriter } from '../../lib/stores/lake.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { testConfig, uniqueTenant } from '../support/harness.js';

const tenantA = uniqueTenant('cat-a');
const tenantB = uniqueTenant('cat-b');
const warehouse = { sourceType: 'postgres' as const, connectionId: 'warehouse' };
const qn = (path: string[], context = warehouse) => containerQualifiedName(context, path);

const database = qn(['sales']);
const schema = qn(['sales', 'public']);
const orders = qn(['sales', 'public', 'orders']);
const tables = Array.from({ length: 7 }, (_, i) => `table_${i}`);
const goneTable = qn(['sales', 'public', 'table_3']);
const goneColumn = qn(['sales', 'public', 'orders', 'legacy']);
// Roots of other connections, one of them a prefix-neighbour of `warehouse`.
const lake = { sourceType: 'postgres' as const, connectionId: 'lake' };
const neighbour = { sourceType: 'postgres' as const, connectionId: 'warehouse2' };
const lakeDatabase = qn(['raw'], lake);
const neighbourDatabase = qn(['sales'], neighbour);

function loaded(
  assetType: EstateAssetType,
  path: string[],
  extra: Partial<EstateAsset> = {},
  context = warehouse,
): LoadedAsset {
  const asset: EstateAsset = {
    qualifiedName: qualifiedName(context, assetType, path),
    assetType,
    name: path.at(-1) ?? '',
    parentQualifiedName: path.length > 1 ? qn(path.slice(0, -1), context) : null,
    dataType: null,
    sourceDataType: null,
    nullable: null,
    defaultValue: null,
    ordinal: null,
    comment: null,
    tags: [],
    properties: {},
    ...extra,
  };
  return { asset, fingerprint: 'test' };
}

const column = (name: string, ordinal: number, dataType: string, nullable: boolean) =>
  loaded('column', ['sales', 'public', 'orders', name], { ordinal, dataType, sourceDataType: dataType, nullable });

/** The same qualified names in both tenants; what differs (types, extra names) tells whose answer it is. */
function estate(tenant: string): LoadedAsset[] {
  const mine = tenant === tenantA;
  return [
    loaded('database', ['sales']),
    loaded('database', ['raw'], {}, lake),
    loaded('database', ['sales'], {}, neighbour),
    loaded('schema', ['sales', 'public']),
    loaded('table', ['sales', 'public', 'orders']),
    ...tables.map((table) => loaded('table', ['sales', 'public', table])),
    column('id', 1, mine ? 'integer' : 'string', false),
    column('amount', 2, mine ? 'decimal' : 'string', true),
    column('note', 3, 'string', true),
    column('legacy', 4, 'string', true),
    ...(mine ? [] : [column('b_secret', 5, 'string', true), loaded('table', ['sales', 'public', 'b_only'])]),
    loaded('foreign_key', ['sales', 'public', 'orders', 'customer']),
  ];
}

const at = (minute: number) => new Date(Date.UTC(2026, 10, 24, 10, minute)).toISOString();
function incident(id: string, status: 'open' | 'resolved', updatedMinute: number): IncidentRecord {
  return {
    incidentId: id,
    incidentType: 'open_anomaly_incident',
    status,
    severity: 'SEV-2',
    owner: null,
    feedback: status === 'resolved' ? 'fixed' : null,
    url: `https://getmontecarlo.com/incidents/${id}`,
    monteCarloAccountId: null,
    tables: [],
    qualifiedNames: [orders],
    unmappedTables: [],
    eventsApplied: 1,
    recentEventIds: [],
    openedAt: at(0),
    updatedAt: at(updatedMinute),
    resolvedAt: status === 'resolved' ? at(updatedMinute) : null,
  };
}

const ErrorBody = z.object({ error: z.string().min(1) });
const Child = z.object({ qualifiedName: z.string(), assetType: z.string(), deleted: z.boolean() });
const Column = Child.extend({
  name: z.string(),
  dataType: z.string().nullable(),
  nullable: z.boolean().nullable(),
  ordinal: z.number().nullable(),
});
const Incident = z.object({ incidentId: z.string(), status: z.string(), updatedAt: z.string() });
const Paged = z.object({
  children: z.array(Child).optional(),
  columns: z.array(Column).optional(),
  incidents: z.array(Incident).optional(),
  nextPageToken: z.string().nullable(),
});

describe('reading the catalog and incidents over HTTP, paged', () => {
  let api: TestApi;
  let keyA: string;
  let keyB: string;
  const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${tenantA}-${i}`);
  const openIds = ids('open', 5);

  const get = async (key: string, url: string, status = 200) => {
    const response = await api.call(key, 'GET', url);
    assert.equal(response.statusCode, status, `${url}: ${response.body}`);
    return response.json<unknown>();
  };
  const errorOf = async (key: string, url: string, status: number) =>
    ErrorBody.parse(await get(key, url, status)).error;

  /** Every page of a listing; checks that only the last has no token. */
  async function allPages(key: string, url: string) {
    const pages: z.infer<typeof Paged>[] = [];
    let token: string | null = null;
    do {
      const page = Paged.parse(await get(key, `${url}${token ? `&pageToken=${token}` : ''}`));
      pages.push(page);
      token = page.nextPageToken;
      assert.ok(pages.length < 50, 'the listing ends');
    } while (token);
    assert.equal(pages.at(-1)?.nextPageToken, null);
    return pages;
  }
  const childrenOf = async (key: string, url: string) =>
    (await allPages(key, url)).flatMap((page) => page.children ?? []).map((child) => child.qualifiedName);

  before(async () => {
    api = await startTestApi(testConfig(), [tenantA, tenantB]);
    keyA = await api.keyOf(tenantA, ['read']);
    keyB = await api.keyOf(tenantB, ['read']);
    const lake = lakeWriter(api.deps.cassandra);
    for (const tenant of [tenantA, tenantB]) {
      await lake.upsertAssets(tenant, 'warehouse', 'run-1', estate(tenant));
      await lake.markDeleted(tenant, 'run-2', [
        { qualifiedName: goneTable, parent: schema },
        { qualifiedName: goneColumn, parent: orders },
      ]);
    }
    for (const [i, id] of openIds.entries()) await api.deps.incidents.save(tenantA, incident(id, 'open', i + 1));
    await api.deps.incidents.save(tenantB, incident(`b-only-${tenantB}`, 'open', 30));
  });

  after(() => api.close());

  it("pages a schema's tables: every child once, deleted ones only when asked, the last page without a token", async () => {
    const url = (extra: string) =>
      `/v1/tenants/${tenantA}/catalog?parent=${encodeURIComponent(schema)}&limit=2${extra}`;
    const live = tables.filter((table) => table !== 'table_3').concat('orders');
    const expected = live.map((table) => qn(['sales', 'public', table])).sort();

    const pages = await allPages(keyA, url(''));
    const seen = pages.flatMap((page) => page.children ?? []).map((child) => child.qualifiedName);
    assert.deepEqual(seen, expected, 'in qualified-name order, each once, no deleted table');
    const sizes = pages.map((page) => page.children?.length);
    // A page thinned by the deleted table is topped up, so only the last one may be short.
    assert.ok(
      sizes.slice(0, -1).every((size) => size === 2),
      `pages of 2 until the last: ${sizes.join(', ')}`,
    );

    const withDeleted = (await allPages(keyA, url('&includeDeleted=true'))).flatMap((page) => page.children ?? []);
    assert.deepEqual(
      withDeleted.map((child) => child.qualifiedName),
      [...expected, goneTable].sort(),
    );
    assert.deepEqual(
      withDeleted.filter((child) => child.deleted).map((child) => child.qualifiedName),
      [goneTable],
    );
    assert.deepEqual(await childrenOf(keyA, `${url('&includeDeleted=false')}`), expected);
  });

  it('reaches the databases: every connection’s with no parent, one connection’s by its name', async () => {
    const catalog = `/v1/tenants/${tenantA}/catalog?limit=1`;
    assert.deepEqual(await childrenOf(keyA, catalog), [database, lakeDatabase, neighbourDatabase].sort());
    assert.deepEqual(await childrenOf(keyA, `${catalog}&parent=postgres://warehouse`), [database]);
    assert.deepEqual(await childrenOf(keyA, `${catalog}&parent=postgres://lake`), [lakeDatabase]);
    assert.deepEqual(await childrenOf(keyA, `${catalog}&parent=postgres://nowhere`), []);
    assert.deepEqual(await childrenOf(keyA, `${catalog}&parent=${encodeURIComponent(database)}`), [schema]);
  });

  it("lists a table's columns with their types, without its foreign keys or deleted columns", async () => {
    const url = `/v1/tenants/${tenantA}/columns?table=${encodeURIComponent(orders)}&limit=2`;
    const columns = (await allPages(keyA, url)).flatMap((page) => page.columns ?? []);
    assert.deepEqual(
      columns.map(({ name, dataType, nullable, ordinal, deleted }) => [name, dataType, nullable, ordinal, deleted]),
      [
        ['amount', 'decimal', true, 2, false],
        ['id', 'integer', false, 1, false],
        ['note', 'string', true, 3, false],
      ],
    );
    const withDeleted = (await allPages(keyA, `${url}&includeDeleted=true`)).flatMap((page) => page.columns ?? []);
    assert.deepEqual(
      withDeleted.filter((c) => c.deleted).map((c) => c.qualifiedName),
      [goneColumn],
    );

    const ofSchema = await errorOf(keyA, `/v1/tenants/${tenantA}/columns?table=${encodeURIComponent(schema)}`, 400);
    assert.match(ofSchema, /is a schema/);
    const unknown = qn(['sales', 'public', 'no_such_table']);
    await errorOf(keyA, `/v1/tenants/${tenantA}/columns?table=${encodeURIComponent(unknown)}`, 404);
    await errorOf(keyA, `/v1/tenants/${tenantA}/columns?table=${encodeURIComponent(goneTable)}`, 404);
  });

  it('lists incidents by status, newest first, and keeps each in one place as it changes', async () => {
    const listed = async (status: 'open' | 'resolved') =>
      (await allPages(keyA, `/v1/tenants/${tenantA}/incidents?status=${status}&limit=2`))
        .flatMap((page) => page.incidents ?? [])
        .map((incident) => incident.incidentId);
    assert.deepEqual(await listed('open'), [...openIds].reverse());
    assert.deepEqual(await listed('resolved'), []);

    const resolved = incident(openIds[1]!, 'resolved', 20);
    const updated = incident(openIds[0]!, 'open', 21);
    for (let replay = 0; replay < 2; replay++) {
      await api.deps.incidents.save(tenantA, resolved);
      await api.deps.incidents.save(tenantA, updated);
      assert.deepEqual(await listed('open'), [openIds[0], openIds[4], openIds[3], openIds[2]], `replay ${replay}`);
      assert.deepEqual(await listed('resolved'), [openIds[1]], `replay ${replay}`);
    }
    const defaultStatus = Paged.parse(await get(keyA, `/v1/tenants/${tenantA}/incidents`));
    assert.equal(defaultStatus.incidents?.length, 4, 'open when no status is given');

    const one = z
      .object({ incidentId: z.string(), status: z.string(), qualifiedNames: z.array(z.string()) })
      .parse(await get(keyA, `/v1/tenants/${tenantA}/incidents/${openIds[1]}`));
    assert.deepEqual(one, { incidentId: openIds[1], status: 'resolved', qualifiedNames: [orders] });
    assert.match(await errorOf(keyA, `/v1/tenants/${tenantA}/incidents/no-such-incident`, 404), /no incident/);
  });

  it('refuses a page token that was tampered with or belongs to another listing', async () => {
    const url = `/v1/tenants/${tenantA}/catalog?parent=${encodeURIComponent(schema)}&limit=2`;
    const token = Paged.parse(await get(keyA, url)).nextPageToken!;
    const flipped = token.slice(0, -1) + (token.endsWith('0') ? '1' : '0');
    const foreignUrl = `/v1/tenants/${tenantB}/catalog?parent=${encodeURIComponent(schema)}&limit=2`;
    const foreign = Paged.parse(await get(keyB, foreignUrl)).nextPageToken!;
    const otherParent = `/v1/tenants/${tenantA}/catalog?parent=${encodeURIComponent(orders)}&limit=2`;
    const incidents = `/v1/tenants/${tenantA}/incidents?limit=2`;
    for (const bad of [
      `${url}&pageToken=${flipped}`,
      `${url}&pageToken=${foreign}`,
      `${otherParent}&pageToken=${token}`,
      `${incidents}&pageToken=${token}`,
      `${url}&pageToken=0011223344`,
      `${url}&pageToken=${encodeURIComponent("' OR 1=1 --")}`,
    ]) {
      assert.match(await errorOf(keyA, bad, 400), /pageToken|page token/, bad);
    }
  });

  it('treats CQL-looking names as names: they match nothing and break nothing', async () => {
    const hostile = [
      qn(['sales', 'public']) + "/x' OR '1'='1",
      `postgres://warehouse/sales/'; DROP TABLE metasync.assets; --`,
      `postgres://warehouse/sales/public/orders' AND tenant = '${tenantB}`,
    ];
    for (const name of hostile) {
      await errorOf(keyA, `/v1/tenants/${tenantA}/catalog?parent=${encodeURIComponent(name)}`, 404);
      await errorOf(keyA, `/v1/tenants/${tenantA}/columns?table=${encodeURIComponent(name)}`, 404);
      await errorOf(keyA, `/v1/tenants/${tenantA}/incidents/${encodeURIComponent(name)}`, 404);
    }
    const connection = "postgres://x' OR '1'='1";
    assert.deepEqual(
      await childrenOf(keyA, `/v1/tenants/${tenantA}/catalog?parent=${encodeURIComponent(connection)}`),
      [],
    );
    assert.equal(
      (await childrenOf(keyA, `/v1/tenants/${tenantA}/catalog?parent=${encodeURIComponent(schema)}`)).length,
      7,
    );
  });

  it('answers a missing or invalid query with 400 and what to fix', async () => {
    const cases: [string, RegExp][] = [
      [`/v1/tenants/${tenantA}/columns`, /table/],
      [`/v1/tenants/${tenantA}/columns?table=orders`, /qualified name/],
      [`/v1/tenants/${tenantA}/catalog?parent=orders`, /qualified name/],
      [`/v1/tenants/${tenantA}/catalog?parent=`, /qualified name/],
      [`/v1/tenants/${tenantA}/catalog?limit=0`, /limit/],
      [`/v1/tenants/${tenantA}/catalog?limit=many`, /limit/],
      [`/v1/tenants/${tenantA}/catalog?includeDeleted=maybe`, /includeDeleted/],
      [`/v1/tenants/${tenantA}/incidents?status=closed`, /status/],
    ];
    for (const [url, message] of cases) assert.match(await errorOf(keyA, url, 400), message, url);
  });

  it("keeps tenants apart: another tenant's key is refused, and the same names never show the other's data", async () => {
    for (const url of [
      `/v1/tenants/${tenantB}/catalog?parent=${encodeURIComponent(schema)}`,
      `/v1/tenants/${tenantB}/catalog`,
      `/v1/tenants/${tenantB}/columns?table=${encodeURIComponent(orders)}`,
      `/v1/tenants/${tenantB}/incidents`,
      `/v1/tenants/${tenantB}/incidents/b-only-${tenantB}`,
    ]) {
      await errorOf(keyA, url, 403);
    }
    const ofA = JSON.stringify([
      await childrenOf(keyA, `/v1/tenants/${tenantA}/catalog?parent=${encodeURIComponent(schema)}&includeDeleted=true`),
      await get(keyA, `/v1/tenants/${tenantA}/columns?table=${encodeURIComponent(orders)}&includeDeleted=true`),
      await get(keyA, `/v1/tenants/${tenantA}/incidents?status=open&limit=500`),
    ]);
    for (const secret of ['b_only', 'b_secret', 'b-only-']) assert.ok(!ofA.includes(secret), secret);
    await errorOf(keyA, `/v1/tenants/${tenantA}/incidents/b-only-${tenantB}`, 404);

    // B sees its own data under the same names.
    const columnsOfB = Paged.parse(
      await get(keyB, `/v1/tenants/${tenantB}/columns?table=${encodeURIComponent(orders)}`),
    );
    assert.deepEqual(
      columnsOfB.columns?.map((c) => [c.name, c.dataType]),
      [
        ['amount', 'string'],
        ['b_secret', 'string'],
        ['id', 'string'],
        ['note', 'string'],
      ],
    );
  });
});
