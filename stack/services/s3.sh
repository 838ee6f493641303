# S3: MinIO built from source with `go install` (the Go module proxy), bucket `metasync`.
S3_PORT=9000
S3_CONSOLE_PORT=9001
S3_BUCKET=metasync
S3_ACCESS_KEY=metasync
# The secret key is this machine's own (made on first start, owner-only, in $SECRETS_DIR): MinIO gets it through its
# environment, curl through stdin, and lib/platform/config.ts reads the same file. It is what Spark jobs carry.
s3_secret_key() { cat "$(stack_secret s3-secret-key)"; }
# Pinned (the module version `go install ...@latest` resolved to when this was tested), so every machine builds the same.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

minio_bin() { echo "$CACHE/bin/minio"; }

s3_install() {
  [ -x "$(minio_bin)" ] && return 0
  say "s3: building MinIO with go install (first run only, several minutes)"
  GOBIN="$CACHE/bin" go install "github.com/minio/minio@$MINIO_VERSION" >"$CACHE/minio-build.log" 2>&1 \
    || { tail -n 20 "$CACHE/minio-build.log" >&2; fail "s3: go install of MinIO failed (log: $CACHE/minio-build.log)"; }
}

s3_check() { curl -fsS -o /dev/null "http://127.0.0.1:$S3_PORT/minio/health/ready"; }

s3_start() {
  mkdir -p "$RUN/data/minio"
  MINIO_ROOT_USER=$S3_ACCESS_KEY MINIO_ROOT_PASSWORD=$(s3_secret_key) MINIO_BROWSER_REDIRECT=off \
    spawn s3 "$(minio_bin)" server "$RUN/data/minio" --address "127.0.0.1:$S3_PORT" --console-address "127.0.0.1:$S3_CONSOLE_PORT" --quiet
  wait_until s3 60 "$RUN/logs/s3.log" s3_check
}

# curl signs the request itself (SigV4), so no S3 client has to be installed for this one call. The credentials reach
# curl as a config file on stdin (-K -), not as arguments anyone could read in ps.
s3_put_bucket() {
  printf 'user = "%s:%s"\n' "$S3_ACCESS_KEY" "$(s3_secret_key)" \
    | curl -sS -o /dev/null -w '%{http_code}' -K - --aws-sigv4 "aws:amz:us-east-1:s3" -X PUT "http://127.0.0.1:$S3_PORT/$S3_BUCKET"
}

s3_create_bucket() {
  local code
  code=$(s3_put_bucket)
  [ "$code" = 200 ] || [ "$code" = 409 ] # 409: the bucket is already ours
}

# MinIO can answer its health check a moment before it accepts S3 requests, hence the retries. A MinIO started
# before this machine had its own S3 secret still runs with the published one (403): it is restarted with this
# machine's (its data stays), when this checkout started it.
s3_provision() {
  if [ "$(s3_put_bucket 2>/dev/null)" = 403 ]; then
    _s3_ours || fail "s3: the MinIO on :$S3_PORT refuses this machine's credentials ($SECRETS_DIR/s3-secret-key) and this checkout did not start it: restart it from the checkout that did (bash stack/down.sh s3 && bash stack/up.sh s3)"
    say "s3: restarting MinIO with this machine's credentials (it ran with other ones)"
    s3_stop
    s3_start
  fi
  wait_until "s3 (bucket $S3_BUCKET)" 30 "$RUN/logs/s3.log" s3_create_bucket
}

_s3_ours() { [ -f "$RUN/pids/s3.pid" ] && kill -0 "$(cat "$RUN/pids/s3.pid")" 2>/dev/null; }

s3_stop() { stop_pid s3; }

s3_where() { echo "http://127.0.0.1:$S3_PORT bucket $S3_BUCKET (console http://127.0.0.1:$S3_CONSOLE_PORT), log .stack/logs/s3.log"; }
