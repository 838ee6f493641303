import { z } from 'zod';
import { AssetIncident, IncidentRecord, IncidentStatus } from '../lib/incidents/contracts.js';
import { QualifiedName } from '../lib/lineage/contracts.js';
import { catalogStore, type ChildrenOf } from '../lib/stores/catalog.js';
import { sendError } from './errors.js';
import { cassandraPager, PageToken } from './paging.js';
import { errorResponses, NextPageToken, pageLimit, QualifiedNameParam, TenantParams } from './schemas.js';
import type { Api, ApiDependencies } from './dependencies.js';

/** `?includeDeleted=false` must mean false, which z.coerce.boolean would read as true. */
const IncludeDeleted = z
  .enum(['true', 'false'])
  .default('false')
  .transform((value) => value === 'true')
  .describe('Also list assets deleted at their source (kept, marked deleted)');

const CONNECTION = /^[a-z][a-z0-9+.-]*:\/\/[^/]+$/;
const CatalogParent = z
  .string()
  .max(16_384)
  .regex(
    /^[a-z][a-z0-9+.-]*:\/\/[^/]+(\/.+)?$/,
    'expected a qualified name such as postgres://warehouse/sales, or a connection such as postgres://warehouse',
  )
  .optional()
  .describe('A qualified name; or <sourceType>://<connection> for its databases; leave out for every database');

const Child = z.object({
  qualifiedName: QualifiedName,
  assetType: z.string(),
  name: z.string(),
  ordinal: z.number().int().nullable(),
  deleted: z.boolean(),
});

const Column = Child.extend({
  dataType: z.string().nullable().describe('The normalized type (mappings/README.md)'),
  sourceDataType: z.string().nullable().describe('The type as the source spells it'),
  nullable: z.boolean().nullable(),
  defaultValue: z.string().nullable(),
  comment: z.string().nullable(),
});

const CatalogPage = z.object({
  parent: z.string().nullable().describe('As asked; null for every database of the tenant'),
  children: z.array(Child),
  nextPageToken: NextPageToken,
});

const ColumnsPage = z.object({ table: QualifiedName, columns: z.array(Column), nextPageToken: NextPageToken });

const IncidentsPage = z.object({
  status: IncidentStatus,
  incidents: z.array(AssetIncident),
  nextPageToken: NextPageToken,
});

const HOLDS_COLUMNS = new Set(['table', 'view', 'materialized_view']);

const PAGING_NOTE =
  'A page may hold fewer than `limit` items (deleted assets are skipped after reading): only a null nextPageToken ' +
  'ends the listing.';

/** Browsing the catalog (children by parent, a table's columns) and a tenant's incidents, each paged. */
export function registerCatalogRoutes(app: Api, deps: ApiDependencies): void {
  const catalog = catalogStore(deps.cassandra);
  const readPage = cassandraPager(deps.config.secretsKey);
  const notFound = (name: string) =>
    `no asset ${name} in this tenant's catalog (deleted ones need includeDeleted=true)`;

  app.get(
    '/v1/tenants/:tenant/catalog',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['catalog'],
        summary: 'The children of an asset (a database’s schemas, a schema’s tables, a table’s columns), paged',
        description:
          'Databases have no parent: list them with no `parent` (every connection’s) or with ' +
          '`parent=<sourceType>://<connection>` (one connection’s, e.g. postgres://warehouse). Children come in ' +
          `qualified-name order. ${PAGING_NOTE}`,
        params: TenantParams,
        querystring: z.object({
          parent: CatalogParent,
          limit: pageLimit(100, 1_000),
          pageToken: PageToken.optional(),
          includeDeleted: IncludeDeleted,
        }),
        response: { 200: CatalogPage, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const { tenant } = request.params;
      const { parent, limit, pageToken, includeDeleted } = request.query;
      const of: ChildrenOf =
        parent === undefined ? { roots: true } : CONNECTION.test(parent) ? { connection: parent } : { parent };
      const [asset, page] = await Promise.all([
        'parent' in of ? catalog.asset(tenant, of.parent) : null,
        readPage([tenant, 'catalog', parent ?? null], pageToken, (state) =>
          catalog.children(tenant, of, limit, state, includeDeleted),
        ),
      ]);
      if ('parent' in of && (!asset || (asset.deleted && !includeDeleted))) {
        return sendError(reply, 404, notFound(of.parent));
      }
      return { parent: parent ?? null, children: page.items, nextPageToken: page.nextPageToken };
    },
  );

  app.get(
    '/v1/tenants/:tenant/columns',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['catalog'],
        summary: 'The columns of a table or view, with their types, paged',
        description: `Columns come in qualified-name order; \`ordinal\` gives their position. ${PAGING_NOTE}`,
        params: TenantParams,
        querystring: z.object({
          table: QualifiedNameParam.describe('The table or view, <sourceType>://<connection>/<path>'),
          limit: pageLimit(200, 1_000),
          pageToken: PageToken.optional(),
          includeDeleted: IncludeDeleted,
        }),
        response: { 200: ColumnsPage, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const { tenant } = request.params;
      const { table, limit, pageToken, includeDeleted } = request.query;
      const [asset, page] = await Promise.all([
        catalog.asset(tenant, table),
        readPage([tenant, 'columns', table], pageToken, (state) =>
          catalog.columns(tenant, table, limit, state, includeDeleted),
        ),
      ]);
      if (!asset || (asset.deleted && !includeDeleted)) return sendError(reply, 404, notFound(table));
      if (!HOLDS_COLUMNS.has(asset.assetType)) {
        return sendError(
          reply,
          400,
          `${table} is a ${asset.assetType}: only tables and views have columns; browse it with /catalog?parent=`,
        );
      }
      return { table, columns: page.items, nextPageToken: page.nextPageToken };
    },
  );

  app.get(
    '/v1/tenants/:tenant/incidents',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['incidents'],
        summary: 'The tenant’s open or resolved incidents, most recently updated first, paged',
        params: TenantParams,
        querystring: z.object({
          status: IncidentStatus.default('open'),
          limit: pageLimit(50, 500),
          pageToken: PageToken.optional(),
        }),
        response: { 200: IncidentsPage, ...errorResponses() },
      },
    },
    async (request) => {
      const { tenant } = request.params;
      const { status, limit, pageToken } = request.query;
      const page = await readPage([tenant, 'incidents', status], pageToken, (state) =>
        deps.incidents.list(tenant, status, limit, state),
      );
      return { status, incidents: page.items, nextPageToken: page.nextPageToken };
    },
  );

  app.get(
    '/v1/tenants/:tenant/incidents/:incidentId',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['incidents'],
        summary: 'An incident as its workflow last applied it, with every table it concerns',
        params: TenantParams.extend({
          incidentId: IncidentRecord.shape.incidentId.describe('The Monte Carlo incident id'),
        }),
        response: { 200: IncidentRecord, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const { tenant, incidentId } = request.params;
      const incident = await deps.incidents.get(tenant, incidentId);
      return incident ?? sendError(reply, 404, `no incident ${incidentId} in this tenant`);
    },
  );
}
