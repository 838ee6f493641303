import type { TenantId } from './contracts.js';

/** Workflow ids carry the tenant, and are derived from the request, so the same request always names the same run. */
export const skeletonWorkflowId = (tenant: TenantId, runId: string): string => `skeleton/${tenant}/${runId}`;

export const ingestWorkflowId = (tenant: TenantId, connectionId: string, runId: string): string =>
  `ingest/${tenant}/${connectionId}/${runId}`;

export const incidentWorkflowId = (tenant: TenantId, incidentId: string): string => `incident/${tenant}/${incidentId}`;
