import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DbtError, readDbt } from '../../lib/lineage/dbt.js';
import { namingContext } from '../../lib/lineage/names.js';
import { loadDefaultRules } from '../../lib/mapping/index.js';

type Json = Record<string, Record<string, Record<string, unknown>>>;
const fixture = (file: string): Json =>
  JSON.parse(readFileSync(new URL(`../fixtures/dbt/${file}`, import.meta.url), 'utf8')) as Json;
const manifest = fixture('manifest.json');
const catalog = fixture('catalog.json');
const rules = loadDefaultRules();
const warehouse = namingContext('postgres', 'warehouse', rules);
const name = (schema: string, table: string) => `postgres://warehouse/analytics/${schema}/${table}`;

describe('dbt artifacts as lineage', () => {
  it('states an edge from each relation a model, seed or snapshot is built from, through ephemeral models', () => {
    const read = readDbt({ manifest, naming: warehouse, rules });
    assert.equal(read.project, 'jaffle_shop');
    assert.equal(read.origin, 'dbt:jaffle_shop');
    assert.deepEqual(read.edges.map((edge) => [edge.upstream, edge.downstream, edge.downstreamType]).sort(), [
      [name('public', 'country_codes'), name('marts', 'customers'), 'table'],
      [name('raw', 'raw_customers'), name('snapshots', 'customers_snapshot'), 'table'],
      [name('raw', 'raw_customers'), name('staging', 'stg_customers'), 'view'],
      [name('raw', 'raw_orders'), name('staging', 'stg_orders'), 'view'],
      [name('staging', 'stg_customers'), name('marts', 'customers'), 'table'],
      [name('staging', 'stg_orders'), name('marts', 'customers'), 'table'],
      [name('staging', 'stg_orders'), name('marts', 'fct_orders'), 'table'],
      // order_payments is ephemeral: stg_payments flows straight into the models that use it.
      [name('staging', 'stg_payments'), name('marts', 'customers'), 'table'],
      [name('staging', 'stg_payments'), name('marts', 'fct_orders'), 'table'],
      [name('stripe', 'payment'), name('staging', 'stg_payments'), 'view'],
    ]);
    const edge = read.edges.find(
      (e) => e.upstream === name('staging', 'stg_orders') && e.downstream.endsWith('fct_orders'),
    );
    assert.deepEqual(edge, {
      upstream: name('staging', 'stg_orders'),
      downstream: name('marts', 'fct_orders'),
      level: 'table',
      kind: 'dbt',
      origin: 'dbt:jaffle_shop',
      propagates: true,
      transformation: 'dbt model.jaffle_shop.orders',
      downstreamType: 'table',
    });
    assert.deepEqual(read.columns, []);
    assert.deepEqual(read.rejected, []);
  });

  it('names MySQL relations schema/table, the schema being the MySQL database', () => {
    const mysql = namingContext('mysql', 'shopdb', rules);
    const read = readDbt({ manifest, naming: mysql, rules, project: 'shop' });
    assert.equal(read.origin, 'dbt:shop');
    assert.ok(read.edges.some((edge) => edge.upstream === 'mysql://shopdb/raw/raw_orders'));
  });

  it("turns catalog.json's columns into column assets, as ingestion maps them", () => {
    const read = readDbt({ manifest, catalog, naming: warehouse, rules });
    assert.equal(read.columns.length, 10);
    const email = read.columns.find(({ asset }) => asset.qualifiedName === `${name('marts', 'customers')}/email`);
    assert.ok(email);
    assert.equal(email.asset.assetType, 'column');
    assert.equal(email.asset.parentQualifiedName, name('marts', 'customers'));
    assert.equal(email.asset.dataType, 'string(320)');
    assert.equal(email.asset.ordinal, 3);
    assert.ok(email.asset.tags.includes('candidate:PII'));
  });

  it('keeps what cannot be named or mapped apart, with the reason', () => {
    const nodes = { ...manifest['nodes'] };
    nodes['model.jaffle_shop.stg_orders'] = { ...nodes['model.jaffle_shop.stg_orders'], database: null };
    const customers = catalog['nodes']!['model.jaffle_shop.customers'] as { columns: Record<string, object> };
    const broken = {
      ...catalog,
      nodes: {
        ...catalog['nodes'],
        'model.jaffle_shop.customers': {
          ...customers,
          columns: { ...customers.columns, bad: { name: 'bad', type: '', index: 5, comment: null } },
        },
      },
    };
    const read = readDbt({ manifest: { ...manifest, nodes }, catalog: broken, naming: warehouse, rules });
    assert.deepEqual(
      read.rejected.map(({ what, ref, reason }) => [what, ref, reason]),
      [
        [
          'relation',
          'model.jaffle_shop.stg_orders',
          'model.jaffle_shop.stg_orders has no database: a postgres table is named database/schema/table',
        ],
        ['column', 'model.jaffle_shop.customers/bad', 'column has no dataType (looked in data_type)'],
      ],
    );
    assert.ok(
      !read.edges.some((edge) => edge.upstream.includes('stg_orders') || edge.downstream.includes('stg_orders')),
    );
  });

  it('refuses artifacts that are not what it reads, saying what is wrong', () => {
    assert.throws(
      () => readDbt({ manifest: { metadata: {}, nodes: { x: { name: 'x' } } }, naming: warehouse, rules }),
      (error: unknown) =>
        error instanceof DbtError &&
        /^manifest\.json is not a dbt manifest\.json this import reads:/.test(error.message) &&
        /nodes\.x\.unique_id/.test(error.message),
    );
    const anonymous = { ...manifest, metadata: { dbt_schema_version: 'v12' } };
    assert.throws(() => readDbt({ manifest: anonymous, naming: warehouse, rules }), /no metadata\.project_name/);
    assert.throws(
      () => readDbt({ manifest, catalog: { nodes: { x: { columns: {} } } }, naming: warehouse, rules }),
      /^DbtError: catalog\.json is not/,
    );
  });
});
