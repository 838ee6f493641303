import type { TenantId } from '../platform/ids.js';

/** Workflow ids carry the tenant, and are derived from the request, so the same request always names the same run. */
export const skeletonWorkflowId = (tenant: TenantId, runId: string): string => `skeleton/${tenant}/${runId}`;

export const ingestWorkflowId = (tenant: TenantId, connectionId: string, runId: string): string =>
  `ingest/${tenant}/${connectionId}/${runId}`;

/** The incidents of one partition of the tenant's incident topic: Kafka keys each incident to one partition. */
export const incidentPartitionWorkflowId = (tenant: TenantId, partition: number): string =>
  `incidents/${tenant}/${partition}`;

/** Qualified names can be long; past this, the id carries a digest instead (Temporal caps ids at 1,000 bytes). */
const READABLE_NAME_LENGTH = 400;

/** One propagation workflow per source asset: every change of that asset goes through it, one at a time. */
export const propagationWorkflowId = (tenant: TenantId, qualifiedName: string, digest: (text: string) => string) =>
  `propagation/${tenant}/${qualifiedName.length <= READABLE_NAME_LENGTH ? qualifiedName : `sha256:${digest(qualifiedName)}`}`;

/** The walk of one change, a child of its asset's propagation workflow; found again by the change's id. */
export const changeWorkflowId = (tenant: TenantId, changeId: string): string => `change/${tenant}/${changeId}`;
