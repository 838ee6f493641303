#!/usr/bin/env bash
# Build the real Temporal server (go.temporal.io/server) and its SQL tool from
# this wrapper module, into a cache outside the clone. Skips the build when both
# binaries are already there. Copies the PostgreSQL v12 schemas next to them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TEMPORAL_SERVER_VERSION="${TEMPORAL_SERVER_VERSION:-v1.32.0}"
CACHE="${METASYNC_TEMPORAL_SERVER_CACHE:-$HOME/.cache/metasync/temporal-server/$TEMPORAL_SERVER_VERSION}"
BIN="$CACHE/bin"
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod -buildvcs=false"

mkdir -p "$BIN"
cd "$here"

# The pinned version in go.mod is the one that gets built; refuse a mismatch.
pinned="$(go list -m -f '{{.Version}}' go.temporal.io/server)"
if [[ "$pinned" != "$TEMPORAL_SERVER_VERSION" ]]; then
  echo "build.sh: go.mod pins go.temporal.io/server $pinned, not $TEMPORAL_SERVER_VERSION" >&2
  exit 1
fi

if [[ -x "$BIN/temporal-server" && -x "$BIN/temporal-sql-tool" ]]; then
  echo "build.sh: $BIN/temporal-server and temporal-sql-tool exist; skipping build"
else
  start=$(date +%s)
  echo "build.sh: building temporal-server and temporal-sql-tool $TEMPORAL_SERVER_VERSION (slow: ~11 CPU-minutes)"
  nice -n 10 go mod download
  # Build into temp names and rename, so an interrupted build never leaves a
  # half-written binary that the skip check would accept.
  nice -n 10 go build -trimpath -o "$BIN/temporal-server.tmp" go.temporal.io/server/cmd/server
  nice -n 10 go build -trimpath -o "$BIN/temporal-sql-tool.tmp" go.temporal.io/server/cmd/tools/sql
  mv -f "$BIN/temporal-server.tmp" "$BIN/temporal-server"
  mv -f "$BIN/temporal-sql-tool.tmp" "$BIN/temporal-sql-tool"
  echo "build.sh: built in $(( $(date +%s) - start )) s"
fi

# Schemas (and the server's own config templates, for reference) from the module source.
src="$(go list -m -f '{{.Dir}}' go.temporal.io/server)"
if [[ -z "$src" || ! -d "$src/schema/postgresql/v12" ]]; then
  nice -n 10 go mod download go.temporal.io/server
  src="$(go list -m -f '{{.Dir}}' go.temporal.io/server)"
fi
mkdir -p "$CACHE/schema/postgresql"
rm -rf "$CACHE/schema/postgresql/v12"
cp -R "$src/schema/postgresql/v12" "$CACHE/schema/postgresql/v12"
chmod -R u+w "$CACHE/schema"
mkdir -p "$CACHE/config"
cp -f "$src/config/development-postgres12.yaml" "$CACHE/config/"
chmod u+w "$CACHE/config/"*.yaml

"$BIN/temporal-server" --version 2>/dev/null || true
echo "build.sh: binaries in $BIN, schemas in $CACHE/schema/postgresql/v12"
