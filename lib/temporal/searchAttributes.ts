import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

/** Custom search attributes, so the Temporal Web UI filters runs by tenant and kind. Registered by stack/temporal. */
export const TenantIdAttribute = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const RunKindAttribute = defineSearchAttributeKey('RunKind', SearchAttributeType.KEYWORD);

export const ConnectionIdAttribute = defineSearchAttributeKey('ConnectionId', SearchAttributeType.KEYWORD);
/** Set once an ingestion's containers are all in the lake: from then on they can be queried. */
export const ContainersReadyAttribute = defineSearchAttributeKey('ContainersReady', SearchAttributeType.BOOL);

export const searchAttributeKeys = [
  TenantIdAttribute,
  RunKindAttribute,
  ConnectionIdAttribute,
  ContainersReadyAttribute,
];

/** The attributes every run starts with, so the Web UI filters any run by tenant, kind and connection. */
export function runSearchAttributes(tenant: string, kind: string, connectionId?: string): SearchAttributePair[] {
  return [
    { key: TenantIdAttribute, value: tenant },
    { key: RunKindAttribute, value: kind },
    ...(connectionId ? [{ key: ConnectionIdAttribute, value: connectionId }] : []),
  ];
}
