"""Loads the columns of a range of buckets of one ingestion run into the metadata lake.

Reads the run's raw column parts from S3, maps each RawRecord line with the run's mapping rules (metasync_rules,
the same engine as lib/mapping), diffs against the previous run's state of the same buckets, and writes what
changed to Cassandra: added and updated columns are upserted into metasync.assets and assets_by_parent, columns
the previous run had and this one does not are marked deleted, and every line the rules refuse goes to
metasync.rejections with its reason. Last, it writes this run's state of each bucket, which the next run diffs
against. Every write is keyed (Cassandra primary keys, state overwritten per bucket), so a retried job is
harmless. Nothing is collected to the driver but the rules file and the counts.

    raw parts    <run-prefix>/raw/columns/b00042/part-*.ndjson.gz     (a bucket without parts has no columns)
    state        <run-prefix>/state/columns/j00032-00064/bucket=42/  parquet: qualified_name, asset_type,
                                                                      fingerprint, parent_qualified_name
                 (one directory per job, written at once; its _SUCCESS says every bucket of the job is complete)

Submitted with --py-files spark/metasync_rules.py (see spark/README.md). The last line on stdout is
    METASYNC_RESULT {"written": N, "rejected": M, "counts": {"column": {"added": a, ...}}}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
from typing import Any, Iterator, Optional

from pyspark import StorageLevel
from pyspark.broadcast import Broadcast
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

import metasync_rules
from column_frames import MAPPED_SCHEMA, STATE_SCHEMA, Storage
from job_owner import exit_when_owner_dies
from job_progress import JobProgress
from load_assets import apply_local_defaults  # the driver runs from spark/, so the sibling job is importable

# Longer raw lines are cut in metasync.rejections, as the TypeScript loader does.
MAX_RECORD_CHARS = 10_000
LINE_BREAK = re.compile(r"\r\n?|\n")
RAW_PART = re.compile(r"/(raw/columns/b(\d+)/[^/]+)$")
# Lines per shuffle partition: sized by the job's lines, not Spark's fixed 200 (on a small job, hundreds of empty tasks
# per write), and few enough that a task's sort and cache fit its share of the executor's 1 GiB whatever the size of
# the job (two tasks of 450,000 lines each ran it out of memory), and that a write's progress (counted in finished
# tasks, job_progress.py) moves every few seconds.
LINES_PER_PARTITION = 25_000
PARTS_PER_TASK = 3
STATUSES = ("added", "updated", "unchanged", "deleted")
# How the job writes to Cassandra, unless the Spark configuration says otherwise. Rows grouped into unlogged batches by replica set
# (the nodes that own them), not one statement each: half the write time of the default (grouped by partition, which
# for `assets`, one partition a column, is no batching at all). 16 KiB as the connector counts it is ~35 KiB as
# Cassandra counts it: above its default batch_size_warn_threshold (5 KiB), under batch_size_fail_threshold (50 KiB);
# docs/operations.md says what to set on the cluster.
WRITE_CONF = {
    "spark.cassandra.output.batch.grouping.key": "replica_set",
    "spark.cassandra.output.batch.size.bytes": "16384",
}
# The code a bucket's state depends on, in the order activities/columnReuse.ts digests it (ENGINE_FILES).
ENGINE_FILES = ("metasync_rules.py", "column_frames.py", "load_columns.py")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Load a range of column buckets of an ingestion run into Cassandra.")
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--connection-id", required=True)
    parser.add_argument("--source-type", required=True, choices=["postgres", "mysql", "ndjson"])
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--run-prefix", required=True, help="s3a://BUCKET/tenants/T/connections/C/runs/R")
    parser.add_argument("--previous-run-prefix", help="the same for the previous completed run, if any")
    parser.add_argument("--buckets", required=True, help="FROM-TO: buckets FROM (inclusive) to TO (exclusive)")
    parser.add_argument("--rules", required=True, help="s3a://... of the run's effective rules (JSON)")
    parser.add_argument("--keyspace", default="metasync")
    parser.add_argument("--owner-pid", type=int, help="pid of the submitting worker: the job ends when it is gone")
    args = parser.parse_args()
    found = re.fullmatch(r"(\d+)-(\d+)", args.buckets)
    if not found or int(found.group(1)) >= int(found.group(2)):
        parser.error(f"--buckets: expected FROM-TO with FROM < TO, got {args.buckets!r}")
    args.bucket_range = range(int(found.group(1)), int(found.group(2)))
    args.run_prefix = args.run_prefix.rstrip("/")
    args.previous_run_prefix = args.previous_run_prefix.rstrip("/") if args.previous_run_prefix else None
    return args


def refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # Python's json accepts NaN and Infinity; JSON (and Node) do not


def rejection(bucket: int, part: str, line_number: int, line: str, record: object, result: dict[str, Any]) -> tuple:
    kind = record.get("kind") if isinstance(record, dict) and isinstance(record.get("kind"), str) else "unknown"
    path = record.get("path") if isinstance(record, dict) else None
    path_text = json.dumps(path, ensure_ascii=False, separators=(",", ":")) if isinstance(path, list) else ""
    no_asset = [None] * 12  # asset_type ... fingerprint
    return (
        bucket, f"{part}:{line_number}", part, line_number, False, result.get("qualifiedName"),
        *no_asset, kind, path_text, result["reason"], line[:MAX_RECORD_CHARS],
    )


def map_parts(rules: Broadcast, source_type: str, connection_id: str, parts: Iterator[tuple[str, str]]) -> Iterator[tuple]:
    """Maps one partition's parts, each whole: (its URI, its text)."""
    for uri, text in parts:
        located = RAW_PART.search(uri)
        assert located, f"not a raw column part: {uri}"
        yield from map_lines(rules.value, source_type, connection_id, located.group(1), int(located.group(2)), text)


def map_lines(rules: Any, source_type: str, connection_id: str, part: str, bucket: int, text: str) -> Iterator[tuple]:
    """Maps the lines of one part, numbered from 1 as the TypeScript loader numbers them."""
    # Split as Spark's text reader (Hadoop's LineRecordReader) splits: at \n, \r\n or \r, and no line after a last
    # break (str.splitlines would also split at characters JSON text may hold unescaped, such as U+2028).
    lines = LINE_BREAK.split(text)
    if lines[-1] == "":
        lines.pop()
    for line_number, line in enumerate(lines, start=1):
        if metasync_rules.is_blank(line):
            continue  # a blank line holds no record
        try:
            record = json.loads(line, parse_constant=refuse_constant)
        except ValueError as error:
            yield rejection(bucket, part, line_number, line, None, {"reason": f"not valid JSON: {error}"})
            continue
        result = metasync_rules.map_record(record, source_type, connection_id, rules)
        if result["ok"] and result["asset"]["assetType"] != "column":
            result = {
                "reason": f"a columns part holds columns only, not a {result['asset']['assetType']}",
                "qualifiedName": result["asset"]["qualifiedName"],
            }
        if not result.get("ok"):
            yield rejection(bucket, part, line_number, line, record, result)
            continue
        asset = result["asset"]
        yield (
            bucket, f"{part}:{line_number}", part, line_number, True, asset["qualifiedName"], asset["assetType"],
            asset["name"], asset["parentQualifiedName"], asset["dataType"], asset["sourceDataType"],
            asset["nullable"], asset["defaultValue"], asset["ordinal"], asset["comment"], asset["tags"],
            asset["properties"], result["fingerprint"], None, None, None, None,
        )


def read_mapped(spark: SparkSession, args: argparse.Namespace, storage: Storage, rules: Broadcast) -> DataFrame:
    parts = {
        uri: size
        for uri, size in storage.glob(f"{args.run_prefix}/raw/columns/b*/part-*.ndjson.gz").items()
        if int(RAW_PART.search(uri).group(2)) in args.bucket_range  # type: ignore[union-attr]
    }
    # The parts were just listed: Spark looks at each again, and past 32 paths it does so with a job of its own
    # (seconds of scheduling on a small box) where the driver takes a few milliseconds a part.
    spark.conf.set("spark.sql.sources.parallelPartitionDiscovery.threshold", str(max(32, len(parts))))
    if not parts:
        return spark.createDataFrame([], MAPPED_SCHEMA)
    # Each part whole (they are small, and gzip is never split anyway): one record per part crosses from the JVM to
    # Python, not one Row per line. A part holds up to 1 MiB of lines (lib/ingest/rawParts.ts), some 7,000 columns: a
    # few parts a task. On a first run nothing shuffles the lines afterwards, so these tasks are also the writes' (and
    # their progress's) tasks.
    tasks = max(spark.sparkContext.defaultParallelism, math.ceil(len(parts) / PARTS_PER_TASK))
    files = spark.sparkContext.wholeTextFiles(",".join(sorted(parts)), minPartitions=tasks)
    source_type, connection_id = args.source_type, args.connection_id
    mapped = files.mapPartitions(lambda parts: map_parts(rules, source_type, connection_id, parts))
    # map_lines builds every tuple to the schema (the shared vectors test its engine): no check row by row.
    return spark.createDataFrame(mapped, MAPPED_SCHEMA, verifySchema=False)


def state_dir(prefix: str, bucket_range: range) -> str:
    return f"{prefix}/state/columns/j{bucket_range.start:05d}-{bucket_range.stop:05d}"


def read_previous_state(spark: SparkSession, args: argparse.Namespace, storage: Storage) -> Optional[DataFrame]:
    """The previous run's state of these buckets, from whichever of its jobs wrote them, or None when there is none.
    Only the state of a job whose write finished (_SUCCESS) counts; a bucket without one starts over: everything in
    it is added."""
    prefix = args.previous_run_prefix
    complete = [uri[: -len("/_SUCCESS")] for uri in storage.glob(f"{prefix}/state/columns/j*/_SUCCESS")] if prefix else []
    files = [
        uri
        for job in complete
        for uri in storage.glob(f"{job}/bucket=*/*.parquet")
        if int(uri.rsplit("/bucket=", 1)[1].split("/", 1)[0]) in args.bucket_range
    ]
    if not files:
        return None
    return spark.read.schema(STATE_SCHEMA).parquet(*files)


def split_duplicates(accepted: DataFrame) -> tuple[DataFrame, DataFrame]:
    """One asset per qualified name (the first line that names it); the others become rejections."""
    # The usual case, every name once, is told by an aggregate of the names alone: the window below sorts whole rows.
    if not accepted.groupBy("qualified_name").count().filter(F.col("count") > 1).take(1):
        return accepted, duplicates_of(accepted.filter(F.lit(False)), F.lit(""))
    first_line = Window.partitionBy("qualified_name").orderBy("part", "line_number")
    ranked = (
        accepted.withColumn("_rank", F.row_number().over(first_line))
        .withColumn("_first", F.first("source_ref").over(first_line))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    duplicates = duplicates_of(ranked.filter(F.col("_rank") > 1), F.col("_first"))
    return ranked.filter(F.col("_rank") == 1).drop("_rank", "_first"), duplicates


def duplicates_of(repeated: DataFrame, first_seen: Column) -> DataFrame:
    """Lines that name an asset an earlier line named, as rejections."""
    return repeated.select(
        "bucket",
        "source_ref",
        "qualified_name",
        F.col("asset_type").alias("kind"),
        F.lit("").alias("path"),
        F.concat(F.lit("duplicate qualified name, first seen at "), first_seen).alias("reason"),
        F.lit("").alias("record"),
    )


# What the diff adds to each row of the previous run's state.
PREVIOUS_COLUMNS = (("previous_type", "string"), ("previous_fingerprint", "string"), ("previous_parent", "string"))


def change_status() -> Column:
    current, previous = F.col("fingerprint"), F.col("previous_fingerprint")
    return (
        F.when(current.isNotNull() & previous.isNull(), "added")
        .when(current.isNotNull() & (current != previous), "updated")
        .when(current.isNotNull(), "unchanged")
        # Refused this time but known before: the source still has it, so the lake keeps what it had.
        .when(F.col("held_bucket").isNotNull(), "held")
        .otherwise("deleted")
    )


def diff_against(previous: Optional[DataFrame], current: DataFrame, rejections: DataFrame) -> DataFrame:
    """Every qualified name of this run or the previous one, with its status."""
    if previous is None:
        # Nothing known before (a first run): everything accepted is added, and no join (a shuffle of every row) is
        # needed to say so.
        return current.select(
            "*",
            *(F.lit(None).cast(sql_type).alias(name) for name, sql_type in PREVIOUS_COLUMNS),
            F.lit(None).cast("int").alias("held_bucket"),
        ).withColumn("status", change_status())
    held = (
        rejections.filter(F.col("qualified_name").isNotNull())
        .groupBy("qualified_name")
        .agg(F.min("bucket").alias("held_bucket"))
    )
    before = previous.select(
        "qualified_name",
        F.col("asset_type").alias("previous_type"),
        F.col("fingerprint").alias("previous_fingerprint"),
        F.col("parent_qualified_name").alias("previous_parent"),
    )
    return (
        current.join(before, "qualified_name", "full_outer")
        .join(held, "qualified_name", "left")
        .withColumn("status", change_status())
    )


def write_cassandra(frame: DataFrame, args: argparse.Namespace, table: str) -> None:
    # Appending to a Cassandra table is an upsert by primary key, and only the frame's columns are written.
    writer = frame.write.format("org.apache.spark.sql.cassandra").options(keyspace=args.keyspace, table=table)
    writer.options(**args.write_conf).mode("append").save()


def write_rejections(args: argparse.Namespace, rejections: DataFrame) -> None:
    write_cassandra(
        rejections.select(
            F.lit(args.tenant).alias("tenant"),
            F.lit(args.run_id).alias("run_id"),
            "source_ref",
            "kind",
            "path",
            "reason",
            "record",
        ),
        args,
        "rejections",
    )


def write_changes(args: argparse.Namespace, diff: DataFrame, changed_rows: int, gone_rows: int) -> None:
    """Upserts what was added or updated; marks what is gone as deleted (its row stays, for history). A write of
    nothing is not made: it would still be a pass over the diff."""
    tenant, run_id, now = F.lit(args.tenant), F.lit(args.run_id), F.current_timestamp()
    if changed_rows:
        write_changed(args, diff.filter(F.col("status").isin("added", "updated")), tenant, run_id, now)
    if gone_rows:
        write_gone(args, diff.filter(F.col("status") == "deleted"), tenant, run_id, now)


def write_changed(args: argparse.Namespace, changed: DataFrame, tenant: Column, run_id: Column, now: Column) -> None:
    write_cassandra(
        changed.select(
            tenant.alias("tenant"), "qualified_name", "asset_type", "name", "parent_qualified_name", "data_type",
            "source_data_type", "nullable", "default_value", "ordinal", "comment", "tags", "properties",
            "fingerprint", F.lit(args.connection_id).alias("connection_id"), run_id.alias("run_id"),
            F.lit(False).alias("deleted"), now.alias("updated_at"),
        ),
        args,
        "assets",
    )
    write_cassandra(
        changed.select(
            tenant.alias("tenant"), F.coalesce("parent_qualified_name", F.lit("")).alias("parent_qualified_name"),
            "qualified_name", "asset_type", "name", "ordinal", F.lit(False).alias("deleted"),
        ),
        args,
        "assets_by_parent",
    )


def write_gone(args: argparse.Namespace, gone: DataFrame, tenant: Column, run_id: Column, now: Column) -> None:
    write_cassandra(
        gone.select(
            tenant.alias("tenant"), "qualified_name", F.lit(True).alias("deleted"), run_id.alias("run_id"),
            now.alias("updated_at"),
        ),
        args,
        "assets",
    )
    write_cassandra(
        gone.select(
            tenant.alias("tenant"), F.coalesce("previous_parent", F.lit("")).alias("parent_qualified_name"),
            "qualified_name", F.lit(True).alias("deleted"),
        ),
        args,
        "assets_by_parent",
    )


def write_state(args: argparse.Namespace, diff: DataFrame) -> None:
    """What the lake now holds for each bucket, for the next run to diff against; overwritten, so a retry is safe."""
    kept = diff.filter(F.col("status").isin("added", "updated", "unchanged")).select(
        "qualified_name", "asset_type", "fingerprint", "parent_qualified_name", "bucket"
    )
    carried = diff.filter(F.col("status") == "held").select(
        "qualified_name",
        F.col("previous_type").alias("asset_type"),
        F.col("previous_fingerprint").alias("fingerprint"),
        F.col("previous_parent").alias("parent_qualified_name"),
        F.col("held_bucket").alias("bucket"),
    )
    # One write for the job's buckets, one file per bucket; overwritten whole, so a retried job leaves no stale file.
    state = kept.unionByName(carried).repartition(len(args.bucket_range), "bucket")
    state.write.partitionBy("bucket").mode("overwrite").parquet(state_dir(args.run_prefix, args.bucket_range))


def engine_digest() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha256()
    for name in ENGINE_FILES:
        with open(os.path.join(here, name), "rb") as file:
            digest.update(file.read())
    return digest.hexdigest()


def job_record(args: argparse.Namespace, rules_text: str, rejected_by_bucket: dict[int, int]) -> str:
    """What the job mapped with and what it refused per bucket: lets a re-run tell which buckets need no job."""
    return json.dumps(
        {
            "engine": engine_digest(),
            "rules": hashlib.sha256(rules_text.encode("utf-8")).hexdigest(),
            "sourceType": args.source_type,
            "connectionId": args.connection_id,
            "rejected": {str(bucket): rejected_by_bucket.get(bucket, 0) for bucket in args.bucket_range},
        }
    )


def main() -> None:
    args = parse_args()
    exit_when_owner_dies(args.owner_pid)
    spark = SparkSession.builder.appName(f"load_columns {args.tenant} {args.run_id} {args.buckets}").getOrCreate()
    apply_local_defaults(spark)
    # As the writes' own options: the connector's DataFrame writer does not read settings made on the session.
    args.write_conf = {key: spark.conf.get(key, default) for key, default in WRITE_CONF.items()}
    storage = Storage(spark, args.run_prefix)
    progress = JobProgress(spark, "load_columns")
    progress.step("read and map")

    rules_text = storage.read_text(args.rules)
    rules = spark.sparkContext.broadcast(metasync_rules.load_rules(rules_text))

    # Persisted so that each line is read and mapped once, whatever uses it; MEMORY_AND_DISK spills when large.
    mapped = read_mapped(spark, args, storage, rules).persist(StorageLevel.MEMORY_AND_DISK)
    # Maps every line (once: it is kept) and counts them, which sizes the shuffles of the steps after it. Adaptive
    # execution would merge their partitions back up to its 64 MiB advisory size, and so is told not to.
    lines = mapped.count()
    partitions = max(spark.sparkContext.defaultParallelism, math.ceil(lines / LINES_PER_PARTITION))
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    spark.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "false")
    progress.step("diff")
    current, duplicates = split_duplicates(mapped.filter(F.col("ok")))
    rejections = (
        mapped.filter(~F.col("ok"))
        .select("bucket", "source_ref", "qualified_name", "kind", "path", "reason", "record")
        .unionByName(duplicates)
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    diff = diff_against(read_previous_state(spark, args, storage), current, rejections).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    # Counted before the writes (which then read the kept frames), so that their progress has a total.
    by_status = {row["status"]: row["count"] for row in diff.groupBy("status").count().collect()}
    rejected_by_bucket = {row["bucket"]: row["count"] for row in rejections.groupBy("bucket").count().collect()}
    rejected = sum(rejected_by_bucket.values())
    mapped.unpersist()  # every line is now in the persisted rejections or accepted rows

    if rejected:  # a write of nothing still costs a pass over the kept frames
        progress.step("write rejections", writes=[rejected])
        write_rejections(args, rejections)
    changed, gone = by_status.get("added", 0) + by_status.get("updated", 0), by_status.get("deleted", 0)
    progress.step("write changes", writes=[rows for rows in (changed, changed, gone, gone) if rows])
    write_changes(args, diff, changed, gone)
    # The state is written last: if anything above fails, a retry diffs against the same previous state.
    progress.step("write state")
    write_state(args, diff)
    # After the state's _SUCCESS: a record says the state is whole.
    storage.write_text(
        f"{state_dir(args.run_prefix, args.bucket_range)}/buckets.json", job_record(args, rules_text, rejected_by_bucket)
    )
    progress.step("stop")
    spark.stop()
    progress.end()

    counts = {status: by_status.get(status, 0) for status in STATUSES}
    result = {
        "written": counts["added"] + counts["updated"],
        "rejected": rejected,
        "counts": {"column": {**counts, "rejected": rejected}},
    }
    print("METASYNC_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
