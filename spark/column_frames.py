"""The frames the columns job (load_columns.py) builds and the S3 listings it makes, apart from its steps.

Used on the driver only: executors run load_columns' mapping functions, which need metasync_rules alone.
"""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    IntegerType,
    MapType,
    StringType,
    StructField,
    StructType,
)

# One mapped RawRecord line: the asset when the rules accept it, the rejection when they refuse it.
MAPPED_SCHEMA = StructType(
    [
        StructField("bucket", IntegerType(), False),
        StructField("source_ref", StringType(), False),
        StructField("part", StringType(), False),
        StructField("line_number", IntegerType(), False),
        StructField("ok", BooleanType(), False),
        # set when ok
        StructField("qualified_name", StringType()),  # also set for rejections whose path was valid
        StructField("asset_type", StringType()),
        StructField("name", StringType()),
        StructField("parent_qualified_name", StringType()),
        StructField("data_type", StringType()),
        StructField("source_data_type", StringType()),
        StructField("nullable", BooleanType()),
        StructField("default_value", StringType()),
        StructField("ordinal", IntegerType()),
        StructField("comment", StringType()),
        StructField("tags", ArrayType(StringType(), False)),
        StructField("properties", MapType(StringType(), StringType(), False)),
        StructField("fingerprint", StringType()),
        # set when rejected
        StructField("kind", StringType()),
        StructField("path", StringType()),
        StructField("reason", StringType()),
        StructField("record", StringType()),
    ]
)
# What a run keeps of each bucket, for the next run to diff against.
STATE_SCHEMA = StructType(
    [
        StructField("qualified_name", StringType(), False),
        StructField("asset_type", StringType(), False),
        StructField("fingerprint", StringType(), False),
        StructField("parent_qualified_name", StringType()),
    ]
)


class Storage:
    """S3 listings through Hadoop's FileSystem, with the session's s3a settings (which --conf or defaults set)."""

    def __init__(self, spark: SparkSession, uri: str) -> None:
        self.jvm = spark.sparkContext._jvm
        hadoop_conf = spark._jsparkSession.sessionState().newHadoopConf()
        self.fs = self.jvm.org.apache.hadoop.fs.Path(uri).getFileSystem(hadoop_conf)

    def glob(self, pattern: str) -> dict[str, int]:
        """Paths matching the pattern, with their sizes in bytes."""
        found = self.fs.globStatus(self.jvm.org.apache.hadoop.fs.Path(pattern))
        return {status.getPath().toString(): status.getLen() for status in (found or [])}

    def read_text(self, uri: str) -> str:
        """A small object's text, read on the driver (a Spark read would be a job of its own, seconds on a small box)."""
        stream = self.fs.open(self.jvm.org.apache.hadoop.fs.Path(uri))
        try:
            return str(self.jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
        finally:
            stream.close()

    def write_text(self, uri: str, text: str) -> None:
        stream = self.fs.create(self.jvm.org.apache.hadoop.fs.Path(uri), True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()

    def exists(self, uri: str) -> bool:
        return bool(self.fs.exists(self.jvm.org.apache.hadoop.fs.Path(uri)))
