import type { TenantId } from './contracts.js';

/** The S3 key layout: every object lives under its tenant's prefix, so a tenant's data can be listed or removed whole. */

export const tenantPrefix = (tenant: TenantId): string => `tenants/${tenant}/`;

export const skeletonObjectKey = (tenant: TenantId, runId: string): string =>
  `${tenantPrefix(tenant)}runs/${runId}/skeleton/assets.ndjson.gz`;

/** Rejected messages whose tenant could not be trusted are kept apart from every tenant's prefix. */
export const deadLetterKey = (tenant: TenantId | undefined, topic: string, partition: number, offset: string): string =>
  `${tenant ? tenantPrefix(tenant) : 'unattributed/'}dead-letters/${topic}/${partition}/${offset}.bin`;
