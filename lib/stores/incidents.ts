import cassandra from 'cassandra-driver';
import { AssetView, IncidentRecord, type AssetIncident, type IncidentStatus } from '../incidents/contracts.js';
import type { Page } from './lineage.js';

const SAVE_INCIDENT = `INSERT INTO incidents (tenant, incident_id, status, record, updated_at) VALUES (?, ?, ?, ?, ?)`;
const SAVE_ASSET_INCIDENT = `INSERT INTO asset_incidents (tenant, qualified_name, incident_id, incident_type, status,
  severity, owner, feedback, url, opened_at, updated_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const SELECT_LISTED_AT = 'SELECT status, updated_at FROM incidents WHERE tenant = ? AND incident_id = ?';
const SAVE_LISTED = `INSERT INTO tenant_incidents (tenant, status, updated_at, incident_id, incident_type, severity,
  owner, feedback, url, opened_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const DELETE_LISTED =
  'DELETE FROM tenant_incidents WHERE tenant = ? AND status = ? AND updated_at = ? AND incident_id = ?';
const SELECT_LISTED = `SELECT incident_id, incident_type, status, severity, owner, feedback, url, opened_at, updated_at,
  resolved_at FROM tenant_incidents WHERE tenant = ? AND status = ?`;
const options = { prepare: true };

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : null);

/** An incident's summary, from a row of asset_incidents or tenant_incidents (they share these columns). */
const summaryOf = (row: cassandra.types.Row): AssetIncident => ({
  incidentId: row.get('incident_id') as string,
  incidentType: row.get('incident_type') as AssetIncident['incidentType'],
  status: row.get('status') as AssetIncident['status'],
  severity: row.get('severity') as AssetIncident['severity'],
  owner: row.get('owner') as string | null,
  feedback: row.get('feedback') as AssetIncident['feedback'],
  url: row.get('url') as string | null,
  openedAt: iso(row.get('opened_at')) ?? '',
  updatedAt: iso(row.get('updated_at')) ?? '',
  resolvedAt: iso(row.get('resolved_at')),
});

/** Incidents in the metadata lake. Every write is the incident's whole state, upserted: replaying one changes nothing. */
export function incidentStore(client: cassandra.Client) {
  return {
    /**
     * Writes the incident; `before` is the incident as read before applying its events (null: none yet), which names
     * where it is listed now, so the save need not read that again. The asset rows and the listing side by side, then
     * the old listing is deleted, the incident row last: whoever reads it finds every row it names already written,
     * and a save that failed midway is done again whole (the incident row still tells its events as not applied).
     * When Cassandra refuses an asset row, the listing written beside it at a new place is taken back, so a refused
     * state is listed nowhere.
     */
    async save(tenant: string, record: IncidentRecord, before?: IncidentRecord | null): Promise<void> {
      const at = (text: string | null) => (text ? new Date(text) : null);
      const updatedAt = new Date(record.updatedAt);
      // Where the incident is listed now: the incidents row is written last, so until this save is complete it
      // still names the old position, and a retry deletes that again.
      let listedStatus: string | undefined;
      let listedAt: Date | null | undefined;
      if (before === undefined) {
        const listed = (await client.execute(SELECT_LISTED_AT, [tenant, record.incidentId], options)).first();
        listedStatus = listed?.get('status') as string | undefined;
        listedAt = listed?.get('updated_at') as Date | null | undefined;
      } else if (before) {
        listedStatus = before.status;
        listedAt = new Date(before.updatedAt);
      }
      // Only when it moved: otherwise the delete would hit the row just written, and a replay would unlist it.
      const moved = listedAt && (listedStatus !== record.status || listedAt.getTime() !== updatedAt.getTime());
      const assetRows = cassandra.concurrent.executeConcurrent(
        client,
        SAVE_ASSET_INCIDENT,
        record.qualifiedNames.map((name) => [
          tenant,
          name,
          record.incidentId,
          record.incidentType,
          record.status,
          record.severity,
          record.owner,
          record.feedback,
          record.url,
          at(record.openedAt),
          updatedAt,
          at(record.resolvedAt),
        ]),
        { concurrencyLevel: 32 },
      );
      const listing = client.execute(
        SAVE_LISTED,
        [
          tenant,
          record.status,
          updatedAt,
          record.incidentId,
          record.incidentType,
          record.severity,
          record.owner,
          record.feedback,
          record.url,
          at(record.openedAt),
          at(record.resolvedAt),
        ],
        options,
      );
      const [assets, listed] = await Promise.allSettled([assetRows, listing]);
      if (assets.status === 'rejected') {
        if (listed.status === 'fulfilled' && (moved || !listedAt)) {
          await client.execute(DELETE_LISTED, [tenant, record.status, updatedAt, record.incidentId], options);
        }
        throw assets.reason;
      }
      if (listed.status === 'rejected') throw listed.reason;
      // Unlisted from where it was only once listed where it is: a failure in between leaves it listed twice until
      // the retry, never nowhere.
      if (moved) await client.execute(DELETE_LISTED, [tenant, listedStatus, listedAt, record.incidentId], options);
      await client.execute(
        SAVE_INCIDENT,
        [tenant, record.incidentId, record.status, JSON.stringify(record), updatedAt],
        options,
      );
    },

    async get(tenant: string, incidentId: string): Promise<IncidentRecord | undefined> {
      const result = await client.execute(
        'SELECT record FROM incidents WHERE tenant = ? AND incident_id = ?',
        [tenant, incidentId],
        options,
      );
      const text = result.first()?.get('record') as string | undefined;
      return text === undefined ? undefined : IncidentRecord.parse(JSON.parse(text));
    },

    /** One page of the tenant's incidents in one status, most recently updated first. */
    async list(
      tenant: string,
      status: IncidentStatus,
      pageSize: number,
      pageState: string | null = null,
    ): Promise<Page<AssetIncident>> {
      const result = await client.execute(SELECT_LISTED, [tenant, status], {
        ...options,
        fetchSize: pageSize,
        ...(pageState ? { pageState } : {}),
      });
      return { items: result.rows.map(summaryOf), next: result.pageState ?? null };
    },

    /** An asset with its open incidents and its most recently resolved ones. */
    async assetView(tenant: string, qualifiedName: string, recent = 20): Promise<AssetView> {
      const [assetRows, incidentRows] = await Promise.all([
        client.execute(
          `SELECT asset_type, name, parent_qualified_name, data_type, deleted, updated_at FROM assets
           WHERE tenant = ? AND qualified_name = ?`,
          [tenant, qualifiedName],
          options,
        ),
        client.execute(
          `SELECT incident_id, incident_type, status, severity, owner, feedback, url, opened_at, updated_at,
             resolved_at FROM asset_incidents WHERE tenant = ? AND qualified_name = ?`,
          [tenant, qualifiedName],
          { ...options, fetchSize: 5000 },
        ),
      ]);
      const incidents = incidentRows.rows.map(summaryOf);
      const newestFirst = (a: AssetIncident, b: AssetIncident) => b.updatedAt.localeCompare(a.updatedAt);
      const asset = assetRows.first();
      return AssetView.parse({
        tenant,
        qualifiedName,
        asset: asset
          ? {
              assetType: asset.get('asset_type') as string,
              name: asset.get('name') as string,
              parentQualifiedName: asset.get('parent_qualified_name') as string | null,
              dataType: asset.get('data_type') as string | null,
              deleted: (asset.get('deleted') as boolean | null) === true,
              updatedAt: iso(asset.get('updated_at')),
            }
          : null,
        openIncidents: incidents.filter((incident) => incident.status === 'open').sort(newestFirst),
        recentIncidents: incidents
          .filter((incident) => incident.status === 'resolved')
          .sort(newestFirst)
          .slice(0, recent),
      });
    },
  };
}
export type IncidentStore = ReturnType<typeof incidentStore>;
