import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes, so the Temporal Web UI filters runs by tenant and kind. Registered by stack/temporal. */
export const TenantIdAttribute = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const RunKindAttribute = defineSearchAttributeKey('RunKind', SearchAttributeType.KEYWORD);

export const searchAttributeKeys = [TenantIdAttribute, RunKindAttribute];
