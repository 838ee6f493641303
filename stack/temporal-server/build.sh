#!/usr/bin/env bash
# Builds the real Temporal server (go.temporal.io/server), its SQL tool and its Web UI server
# (github.com/temporalio/ui-server/v2, which embeds the built UI) from the wrapper modules here (./go.mod and
# ui/go.mod: the versions built are the ones they pin), into the cache outside the clone:
#   $METASYNC_CACHE/temporal-server/<server version>/bin/{temporal-server,temporal-sql-tool}, schema/postgresql/v12
#   $METASYNC_CACHE/temporal-server/ui-<ui version>/temporal-ui-server
# What is already there is not built again. The first build takes about 11 CPU-minutes (niced) and fills Go's module
# cache with about 0.5 GB. stack/services/temporal.sh runs this when METASYNC_TEMPORAL_SERVER=postgres.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${METASYNC_CACHE:-$HOME/.cache/metasync}"
# -mod=mod: the wrapper modules list only their roots; Go resolves the rest from go.sum. Never ask for a newer Go.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod -buildvcs=false" GOTOOLCHAIN=local

say() { printf '[stack] temporal: %s\n' "$*"; }

# build MODULE_DIR PACKAGE OUTPUT: into a temporary name first, so an interrupted build never leaves a half-written
# binary that the next run would take as built.
build() {
  local start=$SECONDS
  say "building $(basename "$3") from $2 (first run only; slow)"
  (cd "$1" && nice -n 10 go build -trimpath -o "$3.tmp" "$2")
  mv -f "$3.tmp" "$3"
  say "built $3 in $((SECONDS - start)) s"
}

# pinned GO_MOD MODULE: the version GO_MOD requires of MODULE (stack/services/temporal.sh reads it the same way).
pinned() { awk -v m="$2" '$1 == m { print $2 } $1 == "require" && $2 == m { print $3 }' "$1"; }

server_version=$(pinned "$here/go.mod" go.temporal.io/server)
ui_version=$(pinned "$here/ui/go.mod" github.com/temporalio/ui-server/v2)
server_dir="$CACHE/temporal-server/$server_version"
ui_dir="$CACHE/temporal-server/ui-$ui_version"
mkdir -p "$server_dir/bin" "$ui_dir"

[ -x "$server_dir/bin/temporal-server" ] || build "$here" go.temporal.io/server/cmd/server "$server_dir/bin/temporal-server"
[ -x "$server_dir/bin/temporal-sql-tool" ] || build "$here" go.temporal.io/server/cmd/tools/sql "$server_dir/bin/temporal-sql-tool"
[ -x "$ui_dir/temporal-ui-server" ] || build "$here/ui" github.com/temporalio/ui-server/v2/cmd/server "$ui_dir/temporal-ui-server"

# The PostgreSQL schemas temporal-sql-tool sets up, from the server's module source (read-only in Go's cache).
if [ ! -d "$server_dir/schema/postgresql/v12" ]; then
  src=$(cd "$here" && nice -n 10 go mod download -json go.temporal.io/server | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$server_dir/schema/postgresql"
  cp -R "$src/schema/postgresql/v12" "$server_dir/schema/postgresql/v12.tmp"
  chmod -R u+w "$server_dir/schema/postgresql/v12.tmp"
  mv "$server_dir/schema/postgresql/v12.tmp" "$server_dir/schema/postgresql/v12"
fi
