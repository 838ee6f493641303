import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { dashboards, provisioningFiles } from '../observability/dashboards/index.js';

/**
 * `npm run dashboards`: writes the Grafana dashboards (observability/dashboards/) as JSON into
 * observability/grafana/dashboards/, and the provisioning YAML beside them. A unit test fails when the committed
 * files differ from a fresh generation, so run this after changing a dashboard.
 */

export const grafanaDir = fileURLToPath(new URL('../observability/grafana/', import.meta.url));

/** The dashboards by file name (uid.json). */
export function dashboardJson(): Map<string, unknown> {
  return new Map(dashboards().map((built) => [`${built.uid}.json`, built]));
}

async function writeDashboards(): Promise<void> {
  const dashboardDir = `${grafanaDir}dashboards/`;
  mkdirSync(dashboardDir, { recursive: true });
  const built = dashboardJson();
  for (const file of readdirSync(dashboardDir)) {
    if (file.endsWith('.json') && !built.has(file)) rmSync(dashboardDir + file);
  }
  for (const [name, json] of built) {
    const file = dashboardDir + name;
    const options = { ...(await resolveConfig(file)), parser: 'json' };
    writeFileSync(file, await format(JSON.stringify(json), options));
    console.log(`wrote observability/grafana/dashboards/${name}`);
  }
  for (const [path, text] of Object.entries(provisioningFiles)) {
    mkdirSync(dirname(grafanaDir + path), { recursive: true });
    writeFileSync(grafanaDir + path, text);
    console.log(`wrote observability/grafana/${path}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await writeDashboards();
