import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * The one configuration object, read from METASYNC_* environment variables and validated at start-up.
 * Every default points at the local stack that `npm run stack:up` starts.
 */

const hostPort = z.string().regex(/^[\w.-]+:\d{1,5}$/, 'expected host:port');
const hostPortList = z
  .string()
  .transform((value) => value.split(',').map((part) => part.trim()))
  .pipe(z.array(hostPort).min(1, 'expected at least one host:port'));
const url = z.url({ message: 'expected a URL' });
const name = z.string().regex(/^[A-Za-z0-9._-]+$/, 'expected letters, digits, dots, dashes or underscores');
const positiveInt = z.coerce.number().int().positive();
const commaList = (value: string) =>
  value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
const cidrList = z
  .string()
  .transform(commaList)
  .pipe(z.array(z.union([z.cidrv4(), z.cidrv6()], { error: 'expected CIDRs such as 10.0.0.0/8 or fd00::/8' })));
const portRanges = z
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
const flag = z.enum(['true', 'false']).transform((value) => value === 'true');

const cacheDir = process.env['METASYNC_CACHE'] ?? join(homedir(), '.cache', 'metasync');

const EnvSchema = z.object({
  METASYNC_TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  METASYNC_TEMPORAL_NAMESPACE: name.default('default'),
  METASYNC_TEMPORAL_UI_URL: url.default('http://127.0.0.1:8233'),
  METASYNC_TASK_QUEUE: name.default('metasync'),
  METASYNC_KAFKA_BROKERS: hostPortList.default(['127.0.0.1:9092']),
  METASYNC_KAFKA_CLIENT_ID: name.default('metasync'),
  // Consumer groups are <prefix>-command-bridge and <prefix>-incident-bridge: bridges sharing a prefix share work.
  METASYNC_KAFKA_GROUP_PREFIX: name.default('metasync'),
  METASYNC_POSTGRES_URL: url.default('postgres://metasync:metasync@127.0.0.1:5432/metasync_production'),
  // Migrations run as the role that owns the schema; processes run as METASYNC_POSTGRES_URL's, which only reads and writes.
  METASYNC_POSTGRES_MIGRATION_URL: url.default(
    'postgres://metasync_owner:metasync_owner@127.0.0.1:5432/metasync_production',
  ),
  METASYNC_CASSANDRA_CONTACT_POINTS: hostPortList.default(['127.0.0.1:9042']),
  METASYNC_CASSANDRA_DATACENTER: name.default('datacenter1'),
  METASYNC_CASSANDRA_KEYSPACE: name.default('metasync'),
  METASYNC_S3_ENDPOINT: url.default('http://127.0.0.1:9000'),
  METASYNC_S3_REGION: name.default('us-east-1'),
  METASYNC_S3_ACCESS_KEY: z.string().min(1).default('metasync'),
  METASYNC_S3_SECRET_KEY: z.string().min(1).default('metasync-secret'),
  METASYNC_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name')
    .default('metasync'),
  // Where tenants reach the bucket (presigned upload URLs), when not where MetaSync does.
  METASYNC_S3_PUBLIC_ENDPOINT: url.optional(),
  METASYNC_SPARK_MASTER: z
    .string()
    .regex(/^(spark:\/\/[\w.-]+:\d+|local(\[\d+|\*\])?)$/, 'expected spark://host:port or local[N]')
    .default('spark://127.0.0.1:7077'),
  METASYNC_SPARK_UI_URL: url.default('http://127.0.0.1:8080'),
  METASYNC_SPARK_SUBMIT: z
    .string()
    .min(1)
    .default(join(cacheDir, 'venv', 'bin', 'spark-submit')),
  METASYNC_SPARK_PYTHON: z
    .string()
    .min(1)
    .default(join(cacheDir, 'venv', 'bin', 'python')),
  METASYNC_SPARK_JARS_DIR: z
    .string()
    .min(1)
    .default(join(cacheDir, 'jars', 'spark')),
  METASYNC_SPARK_JOB_TIMEOUT_SECONDS: positiveInt.default(1800),
  METASYNC_JAVA_HOME: z.string().min(1).default('/usr/lib/jvm/java-17-openjdk-amd64'),
  METASYNC_MAX_MESSAGE_BYTES: positiveInt.default(1_048_576),
  METASYNC_API_HOST: z.string().min(1).default('127.0.0.1'),
  METASYNC_API_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  // The tenant whose admin keys administer tenants (create, list, suspend). It sees no other tenant's data.
  METASYNC_OPERATOR_TENANT: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,62}$/, 'expected a tenant id')
    .default('operator'),
  // An incident's workflow ends after this long without news (it starts again with the next event).
  METASYNC_INCIDENT_QUIET_SECONDS: positiveInt.default(7 * 24 * 3600),
  // Where MetaSync may connect on a tenant's behalf (lib/destinations.ts): its own services, loopback and
  // link-local addresses are refused whatever these say.
  METASYNC_DESTINATIONS_ALLOW: cidrList.default(['0.0.0.0/0', '::/0']),
  METASYNC_DESTINATIONS_DENY: cidrList.default([]),
  METASYNC_DESTINATIONS_PORTS: portRanges.default([[1, 65535]]),
  // Development only: sources on loopback (the local stack's), MetaSync's own endpoints still refused.
  METASYNC_DESTINATIONS_ALLOW_LOOPBACK: flag.default(false),
  // The local stack's key is public; any shared deployment sets its own (openssl rand -base64 32).
  METASYNC_SECRETS_KEY: z
    .base64({ message: 'expected 32 bytes in base64 (openssl rand -base64 32)' })
    .refine(
      (value) => Buffer.from(value, 'base64').length === 32,
      'expected 32 bytes in base64 (openssl rand -base64 32)',
    )
    .default('bWV0YXN5bmMtbG9jYWwtc3RhY2stb25seS1rZXkhISE='),
});

export type Config = ReturnType<typeof toConfig>;

/**
 * Secret settings never need to be on a command line: each may be given as METASYNC_X, as METASYNC_X_FILE (a path),
 * or left to the file the stack generated for this machine in METASYNC_SECRETS_DIR (~/.config/metasync), one file
 * per secret, readable by its owner only. The first of the three that is present wins.
 */
const SECRET_FILES: Record<string, string> = {};

export const secretsDir = (env: NodeJS.ProcessEnv = process.env): string =>
  env['METASYNC_SECRETS_DIR'] ?? join(homedir(), '.config', 'metasync');

/** The env with every secret setting filled in from its file, or the problems found reading one. */
function withSecretFiles(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; problems: string[] } {
  const resolved: NodeJS.ProcessEnv = { ...env };
  const problems: string[] = [];
  for (const [variable, fileName] of Object.entries(SECRET_FILES)) {
    if (env[variable] !== undefined) continue;
    const explicit = env[`${variable}_FILE`];
    const path = explicit ?? join(secretsDir(env), fileName);
    let mode: number;
    try {
      mode = statSync(path).mode;
    } catch {
      if (explicit !== undefined) problems.push(`${variable}_FILE: cannot read ${explicit}: no such file`);
      continue;
    }
    if ((mode & 0o077) !== 0) {
      problems.push(`${explicit ? `${variable}_FILE` : variable}: ${path} is readable by others: chmod 600 it`);
      continue;
    }
    resolved[variable] = readFileSync(path, 'utf8').trim();
  }
  return { env: resolved, problems };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`MetaSync configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function toConfig(env: z.infer<typeof EnvSchema>) {
  return {
    temporal: {
      address: env.METASYNC_TEMPORAL_ADDRESS,
      namespace: env.METASYNC_TEMPORAL_NAMESPACE,
      uiUrl: env.METASYNC_TEMPORAL_UI_URL,
      taskQueue: env.METASYNC_TASK_QUEUE,
    },
    kafka: {
      brokers: env.METASYNC_KAFKA_BROKERS,
      clientId: env.METASYNC_KAFKA_CLIENT_ID,
      groupPrefix: env.METASYNC_KAFKA_GROUP_PREFIX,
      maxMessageBytes: env.METASYNC_MAX_MESSAGE_BYTES,
    },
    postgres: { url: env.METASYNC_POSTGRES_URL, migrationUrl: env.METASYNC_POSTGRES_MIGRATION_URL },
    api: { host: env.METASYNC_API_HOST, port: env.METASYNC_API_PORT, operatorTenant: env.METASYNC_OPERATOR_TENANT },
    incidents: { quietPeriodMs: env.METASYNC_INCIDENT_QUIET_SECONDS * 1000 },
    secretsKey: Buffer.from(env.METASYNC_SECRETS_KEY, 'base64'),
    cassandra: {
      contactPoints: env.METASYNC_CASSANDRA_CONTACT_POINTS,
      localDataCenter: env.METASYNC_CASSANDRA_DATACENTER,
      keyspace: env.METASYNC_CASSANDRA_KEYSPACE,
    },
    s3: {
      endpoint: env.METASYNC_S3_ENDPOINT.replace(/\/$/, ''),
      region: env.METASYNC_S3_REGION,
      accessKeyId: env.METASYNC_S3_ACCESS_KEY,
      secretAccessKey: env.METASYNC_S3_SECRET_KEY,
      bucket: env.METASYNC_S3_BUCKET,
      publicEndpoint: env.METASYNC_S3_PUBLIC_ENDPOINT?.replace(/\/$/, ''),
    },
    destinations: {
      allow: env.METASYNC_DESTINATIONS_ALLOW,
      deny: env.METASYNC_DESTINATIONS_DENY,
      ports: env.METASYNC_DESTINATIONS_PORTS,
      allowLoopback: env.METASYNC_DESTINATIONS_ALLOW_LOOPBACK,
    },
    spark: {
      master: env.METASYNC_SPARK_MASTER,
      uiUrl: env.METASYNC_SPARK_UI_URL.replace(/\/$/, ''),
      submit: env.METASYNC_SPARK_SUBMIT,
      python: env.METASYNC_SPARK_PYTHON,
      jarsDir: env.METASYNC_SPARK_JARS_DIR,
      jobTimeoutMs: env.METASYNC_SPARK_JOB_TIMEOUT_SECONDS * 1000,
      javaHome: env.METASYNC_JAVA_HOME,
    },
  } as const;
}

/** Reads and validates the configuration; throws a ConfigError naming every wrong variable. */
export function loadConfig(given: NodeJS.ProcessEnv = process.env): Config {
  const { env, problems } = withSecretFiles(given);
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success || problems.length > 0) {
    throw new ConfigError([
      ...problems,
      ...(parsed.error?.issues ?? []).map((issue) => {
        const variable = String(issue.path[0]);
        const got = env[variable];
        // A secret's value is never repeated in an error: it would land in a log.
        const shown = variable in SECRET_FILES ? ' (value not shown)' : `, got ${JSON.stringify(got)}`;
        return `${variable}: ${issue.message}${got === undefined ? ' (not set)' : shown}`;
      }),
    ]);
  }
  return toConfig(parsed.data);
}

/** For entry points: a wrong configuration ends the process with the message alone, no stack trace. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
}
