import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { dashboards, provisioningFiles } from '../../observability/dashboards/index.js';
import {
  panelQueries,
  panelsWithoutQueries,
  resolveVariables,
  withoutZeroFallback,
} from '../../observability/panelQueries.js';
import { dashboardJson, grafanaDir } from '../../starters/dashboards.js';

const committed = (name: string): unknown =>
  JSON.parse(readFileSync(`${grafanaDir}dashboards/${name}`, 'utf8')) as unknown;

describe('Grafana dashboards (observability/dashboards/)', () => {
  const generated = dashboardJson();

  it('are committed as generated: run `npm run dashboards` after changing one', () => {
    const files = readdirSync(`${grafanaDir}dashboards`).filter((file) => file.endsWith('.json'));
    assert.deepEqual(files.sort(), [...generated.keys()].sort());
    for (const [name, json] of generated) {
      assert.deepEqual(committed(name), JSON.parse(JSON.stringify(json)), `${name} differs from what the code makes`);
    }
    for (const [path, text] of Object.entries(provisioningFiles)) {
      assert.equal(readFileSync(grafanaDir + path, 'utf8'), text, `${path} differs from what the code makes`);
    }
  });

  it('give every panel a query, on the datasource variable', () => {
    for (const [name, json] of generated) {
      assert.deepEqual(panelsWithoutQueries(json), [], `${name}: panels without a query`);
      const text = JSON.stringify(json);
      assert.doesNotMatch(
        text,
        /"uid":"(?!\$\{datasource\}|metasync-)/,
        `${name}: a data source other than $datasource`,
      );
    }
  });

  it('use no variable the dashboard-query test cannot resolve', () => {
    for (const json of generated.values()) {
      for (const query of panelQueries(json)) {
        assert.doesNotMatch(resolveVariables(query.expr, 600), /\$/, `${query.dashboard} / ${query.panel}`);
      }
    }
  });

  it('lose their zero fallback for the dashboard-query test, which must see real series', () => {
    assert.equal(withoutZeroFallback('round(sum(increase(x[1h]))) or vector(0)'), 'round(sum(increase(x[1h])))');
    assert.equal(withoutZeroFallback('(sum(a) or vector(0)) / sum(b)'), '(sum(a) or vector(0)) / sum(b)');
  });

  it('have one uid each', () => {
    assert.equal(generated.size, dashboards().length);
  });

  it('resolve Grafana variables the way Grafana would for a test query', () => {
    assert.equal(
      resolveVariables(
        'sum(rate(x{tenant=~"$tenant"}[$__rate_interval])) + increase(y{t=~"${tenant}"}[$__range])',
        600,
      ),
      'sum(rate(x{tenant=~".*"}[1m])) + increase(y{t=~".*"}[600s])',
    );
  });
});
