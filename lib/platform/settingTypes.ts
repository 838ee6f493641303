import { z } from 'zod';

/** The kinds of value a setting takes (lib/platform/config.ts), each with the wording of what it expects. */

export const hostPort = z.string().regex(/^[\w.-]+:\d{1,5}$/, 'expected host:port');
export const hostPortList = z
  .string()
  .transform((value) => value.split(',').map((part) => part.trim()))
  .pipe(z.array(hostPort).min(1, 'expected at least one host:port'));
export const url = z.url({ message: 'expected a URL' });
export const name = z.string().regex(/^[A-Za-z0-9._-]+$/, 'expected letters, digits, dots, dashes or underscores');
export const positiveInt = z.coerce.number().int().positive();
export const flag = z.enum(['0', '1', 'false', 'true']).transform((value) => value === '1' || value === 'true');
const KEY_EXPECTED = 'expected 32 bytes in base64 (openssl rand -base64 32)';
export const sealingKey = z
  .base64({ message: KEY_EXPECTED })
  .refine((value) => Buffer.from(value, 'base64').length === 32, KEY_EXPECTED);
/** Kafka's tools take a password inside JAAS quotes and a comma-separated credential: nothing there to escape. */
export const kafkaPassword = z
  .string()
  .regex(/^[^\s"\\,]{16,}$/, 'expected 16 or more characters, without spaces, quotes, backslashes or commas');
/** For settings where an empty value means "none" (METASYNC_TRACES_URL= turns traces off). */
export const emptyIsUnset = (value: unknown) => (value === '' ? undefined : value);
const commaList = (value: string) =>
  value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
export const cidrList = z
  .string()
  .transform(commaList)
  .pipe(z.array(z.union([z.cidrv4(), z.cidrv6()], { error: 'expected CIDRs such as 10.0.0.0/8 or fd00::/8' })));
export const portRanges = z
  .string()
  .transform(commaList)
  .pipe(
    z
      .array(
        z
          .string()
          .regex(/^\d{1,5}(-\d{1,5})?$/, 'expected ports or ranges such as 5432,3306,1024-65535')
          .transform((range) => range.split('-').map(Number))
          .refine(([from = 0, to = from]) => from >= 1 && from <= to && to <= 65535, 'expected ports within 1-65535')
          .transform(([from = 0, to = from]) => [from, to] as const),
      )
      .min(1, 'expected at least one port or range'),
  );
