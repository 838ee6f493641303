import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { PUBLISHED_DEVELOPMENT_KEY, sealingKeys } from './secrets.js';
import {
  cidrList,
  emptyIsUnset,
  flag,
  hostPort,
  hostPortList,
  kafkaPassword,
  name,
  portRanges,
  positiveInt,
  sealingKey,
  url,
} from './settingTypes.js';

/**
 * The one configuration object, read from METASYNC_* environment variables and validated at start-up.
 * Every default points at the local stack that `npm run stack:up` starts.
 */

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
  // The Kafka principal this process authenticates as (SASL/SCRAM-SHA-512): each entry point defaults to its own
  // (metasync-api, metasync-bridge, metasync-worker, metasync-subscribers; starters metasync-admin). Its password is
  // METASYNC_KAFKA_PASSWORD, or the file kafka-<username> in METASYNC_SECRETS_DIR that the stack makes.
  METASYNC_KAFKA_USERNAME: name.optional(),
  METASYNC_KAFKA_PASSWORD: kafkaPassword.optional(),
  // Creating a tenant's topics, ACLs and credential needs Kafka's admin (POST /v1/tenants, npm run tenant).
  METASYNC_KAFKA_ADMIN_USERNAME: name.default('metasync-admin'),
  METASYNC_KAFKA_ADMIN_PASSWORD: kafkaPassword.optional(),
  // Partitions of each per-tenant topic: events of one key keep their order whatever the count; more only adds
  // parallelism within one tenant, and every tenant adds four topics' worth to the broker.
  METASYNC_KAFKA_TENANT_PARTITIONS: positiveInt.max(64).default(2),
  // How often a bridge looks for new tenants' inbound topics (a new tenant's first event waits at most about this).
  METASYNC_KAFKA_TOPIC_REFRESH_SECONDS: positiveInt.max(3600).default(5),
  // How often each consuming process exports its own groups' lag (metasync_kafka_consumer_lag).
  METASYNC_KAFKA_LAG_SECONDS: positiveInt.max(3600).default(15),
  // The bridges and the subscribers serve these tenants only (comma-separated), e.g. to shard tenants across
  // processes; all by default.
  METASYNC_BRIDGE_TENANTS: z
    .string()
    .transform((value) => value.split(',').map((part) => part.trim()))
    .pipe(z.array(z.string().regex(/^[a-z][a-z0-9-]{1,62}$/, 'expected tenant ids')).min(1))
    .optional(),
  // Kafka's own jars (stack/maven/kafka.pom.xml): its ConfigCommand sets SCRAM credentials, which kafkajs cannot.
  METASYNC_KAFKA_JARS_DIR: z
    .string()
    .min(1)
    .default(join(cacheDir, 'jars', 'kafka')),
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
  // This machine's own (stack/services/s3.sh generates it for the local MinIO); never a published default.
  METASYNC_S3_SECRET_KEY: z.string().min(1),
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
  // The same jars' folder on every Spark worker, where executors load them from: nothing is copied per job. The
  // stack's worker shares this machine's cache; on a cluster, install the jars on each node and name the folder.
  METASYNC_SPARK_EXECUTOR_JARS_DIR: z.string().min(1).optional(),
  METASYNC_SPARK_JOB_TIMEOUT_SECONDS: positiveInt.default(1800),
  METASYNC_JAVA_HOME: z.string().min(1).default('/usr/lib/jvm/java-17-openjdk-amd64'),
  METASYNC_MAX_MESSAGE_BYTES: positiveInt.default(1_048_576),
  METASYNC_API_HOST: z.string().min(1).default('127.0.0.1'),
  // Each process serves Prometheus metrics (GET /metrics) on its own port, apart from the API's: 0 = off (tests).
  // The entry points default to their own (api 9464, worker 9465, bridge 9467, subscribers 9468).
  METASYNC_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  METASYNC_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  // The worker's Temporal SDK runtime metrics (temporal_* names), served by the SDK itself: 0 = off; worker 9466.
  METASYNC_TEMPORAL_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  METASYNC_API_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  // The tenant whose admin keys administer tenants (create, list, suspend). It sees no other tenant's data.
  METASYNC_OPERATOR_TENANT: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,62}$/, 'expected a tenant id')
    .default('operator'),
  // Limits of the public endpoints (api/limits.ts): requests per window from one client address (every route), of one
  // tenant's API keys, and of one tenant's signed webhooks; run-event streams one API key holds open at once. Each
  // API process counts on its own, so with N replicas a client may get up to N times these.
  METASYNC_RATE_LIMIT_WINDOW_SECONDS: positiveInt.default(60),
  METASYNC_RATE_LIMIT_PER_SOURCE: positiveInt.default(3000),
  METASYNC_RATE_LIMIT_PER_TENANT: positiveInt.default(3000),
  METASYNC_RATE_LIMIT_WEBHOOK_PER_TENANT: positiveInt.default(1200),
  METASYNC_API_MAX_STREAMS_PER_KEY: positiveInt.default(5),
  // Behind a load balancer the client address is in X-Forwarded-For: true trusts every proxy, or name the proxies.
  METASYNC_API_TRUST_PROXY: z
    .string()
    .regex(/^(true|false|[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*)$/, "expected true, false or the proxies' addresses")
    .default('false')
    .transform((value) => (value === 'true' ? true : value === 'false' ? false : value.split(','))),
  // Bytes of rejected HTTP bodies archived per tenant and UTC day (PostgreSQL dead_letter_quota); past it they are
  // refused and counted, not kept.
  METASYNC_DEAD_LETTER_BYTES_PER_DAY: positiveInt.default(100 * 1024 * 1024),
  // An incident's workflow ends after this long without news (it starts again with the next event).
  METASYNC_INCIDENT_QUIET_SECONDS: positiveInt.default(7 * 24 * 3600),
  // Where MetaSync may connect on a tenant's behalf (lib/platform/destinations.ts): its own services, loopback and
  // link-local addresses are refused whatever these say.
  METASYNC_DESTINATIONS_ALLOW: cidrList.default(['0.0.0.0/0', '::/0']),
  METASYNC_DESTINATIONS_DENY: cidrList.default([]),
  METASYNC_DESTINATIONS_PORTS: portRanges.default([[1, 65535]]),
  // Development only: sources on loopback (the local stack's), MetaSync's own endpoints still refused.
  METASYNC_DESTINATIONS_ALLOW_LOOPBACK: flag.default(false),
  // Seals connection passwords and webhook secrets, and signs page tokens. This machine's own: the stack generates
  // it (stack/services/secrets.sh); there is no default, and the key once published as one is refused.
  // Traces go to this Zipkin span endpoint (the stack's: http://127.0.0.1:9411/api/v2/spans); none when unset.
  // OTEL_EXPORTER_ZIPKIN_ENDPOINT, the standard name, is read too. docs/observability.md.
  METASYNC_TRACES_URL: z.preprocess(emptyIsUnset, url.optional()),
  OTEL_EXPORTER_ZIPKIN_ENDPOINT: z.preprocess(emptyIsUnset, url.optional()),
  // The share of new traces kept (spans with a parent follow its choice): 1 keeps all. A twentieth by default, for the
  // cost (docs/observability.md, "Sampling and cost"); the development stack's apps keep all.
  METASYNC_TRACES_SAMPLE_RATIO: z.coerce.number().min(0).max(1).default(0.05),
  METASYNC_SECRETS_KEY: sealingKey,
  // Keys that sealed values before the current one (separated by commas or lines): they still open until a rotation
  // (npm run secrets:rotate) has re-sealed everything under the current key, then they can go.
  METASYNC_SECRETS_PREVIOUS_KEYS: z
    .string()
    .transform((value) => value.split(/[\s,]+/).filter((part) => part !== ''))
    .pipe(z.array(sealingKey))
    .default([]),
  // Development only: lets a process start with the published key, which seals nothing from anyone.
  METASYNC_ALLOW_PUBLISHED_SECRETS_KEY: flag.default(false),
});

export type Config = ReturnType<typeof toConfig>;

/** A Kafka principal's SASL/SCRAM login. */
export interface KafkaCredentials {
  username: string;
  password: string;
}

const kafkaCredentials = (username?: string, password?: string): KafkaCredentials | undefined =>
  username !== undefined && password !== undefined ? { username, password } : undefined;

/**
 * Secret settings never need to be on a command line: each may be given as METASYNC_X, as METASYNC_X_FILE (a path),
 * or left to the file the stack generated for this machine in METASYNC_SECRETS_DIR (~/.config/metasync), one file
 * per secret, readable by its owner only. The first of the three that is present wins.
 */
const SECRET_FILES: Record<string, (env: NodeJS.ProcessEnv) => string | undefined> = {
  METASYNC_SECRETS_KEY: () => 'secrets-key',
  METASYNC_SECRETS_PREVIOUS_KEYS: () => 'secrets-previous-keys',
  METASYNC_S3_SECRET_KEY: () => 's3-secret-key',
  // One file per Kafka principal, named after it (kafka-metasync-api, ...), so each process finds its own.
  METASYNC_KAFKA_PASSWORD: (env) => env['METASYNC_KAFKA_USERNAME'] && `kafka-${env['METASYNC_KAFKA_USERNAME']}`,
  METASYNC_KAFKA_ADMIN_PASSWORD: (env) => `kafka-${env['METASYNC_KAFKA_ADMIN_USERNAME'] ?? 'metasync-admin'}`,
};

export const secretsDir = (env: NodeJS.ProcessEnv = process.env): string =>
  env['METASYNC_SECRETS_DIR'] ?? join(homedir(), '.config', 'metasync');

/** The env with every secret setting filled in from its file, or the problems found reading one. */
function withSecretFiles(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; problems: string[] } {
  const resolved: NodeJS.ProcessEnv = { ...env };
  const problems: string[] = [];
  for (const [variable, fileNameOf] of Object.entries(SECRET_FILES)) {
    if (env[variable] !== undefined) continue;
    const explicit = env[`${variable}_FILE`];
    const fileName = fileNameOf(env);
    // A file name comes from a setting: only plain names, so it can never point outside the secrets folder.
    if (explicit === undefined && (fileName === undefined || !/^[\w.-]+$/.test(fileName))) continue;
    const path = explicit ?? join(secretsDir(env), fileName!);
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
      /** Who this process is to Kafka; undefined only where no Kafka client is made. */
      credentials: kafkaCredentials(env.METASYNC_KAFKA_USERNAME, env.METASYNC_KAFKA_PASSWORD),
      /** Kafka's admin, for tenant onboarding; undefined where no password for it is given. */
      admin: kafkaCredentials(env.METASYNC_KAFKA_ADMIN_USERNAME, env.METASYNC_KAFKA_ADMIN_PASSWORD),
      tenantPartitions: env.METASYNC_KAFKA_TENANT_PARTITIONS,
      topicRefreshMs: env.METASYNC_KAFKA_TOPIC_REFRESH_SECONDS * 1000,
      lagIntervalMs: env.METASYNC_KAFKA_LAG_SECONDS * 1000,
      bridgeTenants: env.METASYNC_BRIDGE_TENANTS,
      jarsDir: env.METASYNC_KAFKA_JARS_DIR,
      javaHome: env.METASYNC_JAVA_HOME,
    },
    postgres: { url: env.METASYNC_POSTGRES_URL, migrationUrl: env.METASYNC_POSTGRES_MIGRATION_URL },
    api: {
      host: env.METASYNC_API_HOST,
      port: env.METASYNC_API_PORT,
      operatorTenant: env.METASYNC_OPERATOR_TENANT,
      trustProxy: env.METASYNC_API_TRUST_PROXY,
      limits: {
        windowMs: env.METASYNC_RATE_LIMIT_WINDOW_SECONDS * 1000,
        perSource: env.METASYNC_RATE_LIMIT_PER_SOURCE,
        perTenant: env.METASYNC_RATE_LIMIT_PER_TENANT,
        webhookPerTenant: env.METASYNC_RATE_LIMIT_WEBHOOK_PER_TENANT,
        streamsPerKey: env.METASYNC_API_MAX_STREAMS_PER_KEY,
        deadLetterBytesPerDay: env.METASYNC_DEAD_LETTER_BYTES_PER_DAY,
      },
    },
    metrics: {
      port: env.METASYNC_METRICS_PORT,
      host: env.METASYNC_METRICS_HOST,
      temporalPort: env.METASYNC_TEMPORAL_METRICS_PORT,
    },
    incidents: { quietPeriodMs: env.METASYNC_INCIDENT_QUIET_SECONDS * 1000 },
    /** The sealing keys: the current one seals, it and the previous ones open (lib/platform/secrets.ts). */
    secretsKey: sealingKeys(
      Buffer.from(env.METASYNC_SECRETS_KEY, 'base64'),
      env.METASYNC_SECRETS_PREVIOUS_KEYS.map((key) => Buffer.from(key, 'base64')),
    ),
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
    traces: {
      url: env.METASYNC_TRACES_URL ?? env.OTEL_EXPORTER_ZIPKIN_ENDPOINT,
      sampleRatio: env.METASYNC_TRACES_SAMPLE_RATIO,
    },
    spark: {
      master: env.METASYNC_SPARK_MASTER,
      uiUrl: env.METASYNC_SPARK_UI_URL.replace(/\/$/, ''),
      submit: env.METASYNC_SPARK_SUBMIT,
      python: env.METASYNC_SPARK_PYTHON,
      jarsDir: env.METASYNC_SPARK_JARS_DIR,
      executorJarsDir: env.METASYNC_SPARK_EXECUTOR_JARS_DIR ?? env.METASYNC_SPARK_JARS_DIR,
      jobTimeoutMs: env.METASYNC_SPARK_JOB_TIMEOUT_SECONDS * 1000,
      javaHome: env.METASYNC_JAVA_HOME,
    },
  } as const;
}

/** What to do about a secret setting that is given nowhere. */
function missingSecret(variable: string, env: NodeJS.ProcessEnv): string {
  const file = join(secretsDir(env), SECRET_FILES[variable]?.(env) ?? '');
  return `${variable}: not set, nor ${variable}_FILE, nor ${file}: the local stack generates that file (bash stack/up.sh); elsewhere give it as ${variable} or ${variable}_FILE`;
}

/**
 * The published development key seals nothing from anyone who reads this repository: a process refuses it (as the
 * current key or a previous one) unless development explicitly allows it.
 */
function publishedKeyProblems(env: z.infer<typeof EnvSchema>, raw: NodeJS.ProcessEnv): string[] {
  if (env.METASYNC_ALLOW_PUBLISHED_SECRETS_KEY) return [];
  // Compared as bytes: base64 spells the same bytes more than one way.
  const isPublished = (key: string) => Buffer.from(key, 'base64').equals(PUBLISHED_DEVELOPMENT_KEY);
  const fix =
    "anyone can open the secrets it seals and forge page tokens. Use this machine's own key: bash stack/up.sh secrets writes one to " +
    `${join(secretsDir(raw), SECRET_FILES['METASYNC_SECRETS_KEY']!(raw)!)} (elsewhere: METASYNC_SECRETS_KEY or _FILE, from openssl rand -base64 32); ` +
    'then npm run secrets:rotate -- --from-published-key re-seals what the published key sealed. ' +
    'For a throwaway development setup only, METASYNC_ALLOW_PUBLISHED_SECRETS_KEY=1 allows it';
  return [
    ...(isPublished(env.METASYNC_SECRETS_KEY) ? [`METASYNC_SECRETS_KEY is the published development key: ${fix}`] : []),
    ...(env.METASYNC_SECRETS_PREVIOUS_KEYS.some(isPublished)
      ? [`METASYNC_SECRETS_PREVIOUS_KEYS holds the published development key: ${fix}`]
      : []),
  ];
}

/** Reads and validates the configuration; throws a ConfigError naming every wrong variable. */
export function loadConfig(given: NodeJS.ProcessEnv = process.env): Config {
  const { env, problems } = withSecretFiles(given);
  const parsed = EnvSchema.safeParse(env);
  problems.push(...(parsed.success ? publishedKeyProblems(parsed.data, env) : []));
  const kafkaUser = parsed.data?.METASYNC_KAFKA_USERNAME;
  if (kafkaUser !== undefined && parsed.data?.METASYNC_KAFKA_PASSWORD === undefined) {
    problems.push(
      `METASYNC_KAFKA_PASSWORD: not set for Kafka principal ${kafkaUser}: set it, METASYNC_KAFKA_PASSWORD_FILE, or put it in ${join(secretsDir(env), `kafka-${kafkaUser}`)} (\`bash stack/up.sh kafka\` makes one per MetaSync service)`,
    );
  }
  if (!parsed.success || problems.length > 0) {
    throw new ConfigError([
      ...problems,
      ...(parsed.error?.issues ?? []).map((issue) => {
        const variable = String(issue.path[0]);
        const got = env[variable];
        if (got === undefined && variable in SECRET_FILES) return missingSecret(variable, env);
        // A secret's value is never repeated in an error: it would land in a log.
        const shown = variable in SECRET_FILES ? ' (value not shown)' : `, got ${JSON.stringify(got)}`;
        return `${variable}: ${issue.message}${got === undefined ? ' (not set)' : shown}`;
      }),
    ]);
  }
  return toConfig(parsed.data);
}

/**
 * For entry points: a wrong configuration ends the process with the message alone, no stack trace. `defaults` are
 * the entry point's own (e.g. its Kafka principal), under whatever the environment sets.
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env, defaults: Record<string, string> = {}): Config {
  try {
    return loadConfig({ ...defaults, ...env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
}
