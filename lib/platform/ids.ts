import { z } from 'zod';

/** Tenant ids go into Cassandra partition keys, S3 prefixes, Kafka keys and workflow ids, so they are kept plain. */
export const TenantId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,62}$/, 'a tenant id is 2-63 lowercase letters, digits or dashes, starting with a letter');
export type TenantId = z.infer<typeof TenantId>;

export const RunId = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'a run id is 1-128 letters, digits, dots, dashes');
