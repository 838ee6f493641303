/**
 * MetaSync's Grafana dashboards, built with Grafana's foundation SDK on the metric catalog (docs/observability.md).
 * `npm run dashboards` writes them as JSON into observability/grafana/ with the file-provisioning YAML; a unit test
 * checks the committed files are what this code makes, and test/integration/dashboards.test.ts runs every panel's
 * query against the live Prometheus.
 *
 * Every panel uses the `datasource` variable (any Prometheus data source of the Grafana it is imported into), and
 * the panels on metrics that carry a tenant filter on the `tenant` variable (all tenants by default).
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { inbound } from './inbound.js';
import { ingestion } from './ingestion.js';
import { overview } from './overview.js';
import { propagation } from './propagation.js';

/** The dashboards, in the order Grafana lists them. */
export function dashboards(): Dashboard[] {
  return [overview(), ingestion(), inbound(), propagation()];
}

/** Grafana's file provisioning (YAML), by path under observability/grafana/: the dashboards and a data source. */
export const provisioningFiles: Record<string, string> = {
  'provisioning/dashboards/metasync.yml': `# Grafana file provisioning of MetaSync's dashboards (written by \`npm run dashboards\`).
# Copy into <grafana>/conf/provisioning/dashboards/ and put observability/grafana/dashboards/*.json at options.path.
apiVersion: 1
providers:
  - name: metasync
    folder: MetaSync
    type: file
    disableDeletion: false
    allowUiUpdates: false
    updateIntervalSeconds: 30
    options:
      path: /var/lib/grafana/dashboards/metasync
`,
  'provisioning/datasources/metasync-prometheus.yml': `# Grafana file provisioning of the stack's Prometheus (written by \`npm run dashboards\`).
# Copy into <grafana>/conf/provisioning/datasources/; the dashboards pick it (or any Prometheus) as \`datasource\`.
apiVersion: 1
datasources:
  - name: MetaSync Prometheus
    uid: metasync-prometheus
    type: prometheus
    access: proxy
    url: http://127.0.0.1:9090
    isDefault: true
    jsonData:
      timeInterval: 5s
`,
};
