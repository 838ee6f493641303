"""Loads one NDJSON(.gz) export of assets from S3 into Cassandra's metasync.assets.

Submitted by the Node activity (see spark/README.md). Connection settings are Spark conf
(spark.hadoop.fs.s3a.*, spark.cassandra.connection.*): --conf values win, and anything not given
falls back to the local stack. The S3 credentials come from the environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY), never from arguments: a command line is readable by every user of the machine.
The last line on stdout is the result the activity parses:
    METASYNC_RESULT {"written": N, "rejected": M}
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import MapType, StringType, StructField, StructType

from job_owner import exit_when_owner_dies  # the driver runs from spark/, so sibling modules are importable

# The local stack (stack/services/s3.sh, cassandra.sh): used for whatever spark-submit did not set.
LOCAL_STACK_CONF: dict[str, str] = {
    "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
    "spark.hadoop.fs.s3a.endpoint": "http://127.0.0.1:9000",
    # MinIO serves buckets as paths (no bucket.host DNS) and the local one speaks plain HTTP.
    "spark.hadoop.fs.s3a.path.style.access": "true",
    "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
    # Static keys only: otherwise s3a falls back to probing env/instance-metadata credentials.
    "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
    "spark.cassandra.connection.host": "127.0.0.1",
    "spark.cassandra.connection.port": "9042",
}

# Explicit, so that a file without some field (or with only broken lines) still has every column,
# and no pass over the data is spent inferring a schema.
INPUT_SCHEMA = StructType(
    [
        StructField("tenant", StringType()),
        StructField("qualifiedName", StringType()),
        StructField("assetType", StringType()),
        StructField("name", StringType()),
        StructField("parentQualifiedName", StringType()),
        StructField("dataType", StringType()),
        StructField("properties", MapType(StringType(), StringType())),
    ]
)


# The environment variables that carry the S3 credentials, and the s3a settings they become.
S3_CREDENTIALS_ENV: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "spark.hadoop.fs.s3a.access.key",
    "AWS_SECRET_ACCESS_KEY": "spark.hadoop.fs.s3a.secret.key",
}


def apply_local_defaults(spark: SparkSession) -> None:
    # spark-submit's --conf values are only visible once the session exists, so the defaults are
    # filled in afterwards, as session settings, for whatever --conf left unset.
    for key, value in LOCAL_STACK_CONF.items():
        if spark.conf.get(key, None) is None:
            # spark.hadoop.X reaches the Hadoop config only at start-up; from then on it is the bare
            # key X that does (session settings are merged into each query's Hadoop config).
            spark.conf.set(key.removeprefix("spark.hadoop."), value)
    apply_s3_credentials(spark)


def apply_s3_credentials(spark: SparkSession) -> None:
    """The s3a credentials from the environment, as session settings: Spark ships them to the executors
    inside each task's Hadoop configuration, so the secret never needs a command line."""
    missing = []
    for name, key in S3_CREDENTIALS_ENV.items():
        if spark.conf.get(key, None) is not None:
            continue
        if not os.environ.get(name):
            missing.append(name)
            continue
        spark.conf.set(key.removeprefix("spark.hadoop."), os.environ[name])
    if missing:
        sys.exit(f"S3 credentials missing: set {' and '.join(missing)} (the worker sets them from METASYNC_S3_*)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Load an NDJSON(.gz) asset export from S3 into metasync.assets.")
    parser.add_argument("--input", required=True, help="s3a://BUCKET/KEY of the NDJSON (.gz is decompressed)")
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--keyspace", default="metasync")
    parser.add_argument("--owner-pid", type=int, help="pid of the submitting worker: the job ends when it is gone")
    parser.add_argument("--table", default="assets")
    return parser.parse_args()


def is_blank(col: Column) -> Column:
    return col.isNull() | (F.trim(col) == "")


def is_valid(tenant: str) -> Column:
    # A line may omit its tenant (the file is the tenant's own export), but must not name another one.
    # Lines that are not JSON at all arrive with every field null, so they are rejected here too.
    foreign = F.col("tenant").isNotNull() & (F.col("tenant") != F.lit(tenant))
    return ~(foreign | is_blank(F.col("qualifiedName")) | is_blank(F.col("assetType")))


def to_rows(assets: DataFrame, tenant: str, run_id: str) -> DataFrame:
    return assets.select(
        F.lit(tenant).alias("tenant"),
        F.col("qualifiedName").alias("qualified_name"),
        F.col("assetType").alias("asset_type"),
        F.col("name"),
        F.col("parentQualifiedName").alias("parent_qualified_name"),
        F.col("dataType").alias("data_type"),
        F.col("properties"),
        F.lit(run_id).alias("run_id"),
        F.current_timestamp().alias("updated_at"),
    )


def main() -> None:
    args = parse_args()
    exit_when_owner_dies(args.owner_pid)
    spark = SparkSession.builder.appName(f"load_assets {args.tenant} {args.run_id}").getOrCreate()
    apply_local_defaults(spark)

    parsed = spark.read.schema(INPUT_SCHEMA).json(args.input).withColumn("_valid", is_valid(args.tenant))
    parsed.cache()  # read S3 once: counted, then written
    counts = {row["_valid"]: row["count"] for row in parsed.groupBy("_valid").count().collect()}

    # Append into a table keyed by (tenant, qualified_name) is an upsert: a retried run rewrites
    # the same rows instead of adding copies.
    (
        to_rows(parsed.filter(F.col("_valid")), args.tenant, args.run_id)
        .write.format("org.apache.spark.sql.cassandra")
        .options(keyspace=args.keyspace, table=args.table)
        .mode("append")
        .save()
    )
    spark.stop()

    result = {"written": counts.get(True, 0), "rejected": counts.get(False, 0)}
    print("METASYNC_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
