# S3: MinIO built from source with `go install` (the Go module proxy), bucket `metasync`.
S3_PORT=9000
S3_CONSOLE_PORT=9001
S3_ACCESS_KEY=metasync
S3_SECRET_KEY=metasync-secret
S3_BUCKET=metasync
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
  MINIO_ROOT_USER=$S3_ACCESS_KEY MINIO_ROOT_PASSWORD=$S3_SECRET_KEY MINIO_BROWSER_REDIRECT=off \
    spawn s3 "$(minio_bin)" server "$RUN/data/minio" --address "127.0.0.1:$S3_PORT" --console-address "127.0.0.1:$S3_CONSOLE_PORT" --quiet
  wait_until s3 60 "$RUN/logs/s3.log" s3_check
}

# curl signs the request itself (SigV4), so no S3 client has to be installed for this one call.
s3_create_bucket() {
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -X PUT "http://127.0.0.1:$S3_PORT/$S3_BUCKET")
  [ "$code" = 200 ] || [ "$code" = 409 ] # 409: the bucket is already ours
}

# MinIO can answer its health check a moment before it accepts S3 requests, hence the retries.
s3_provision() { wait_until "s3 (bucket $S3_BUCKET)" 30 "$RUN/logs/s3.log" s3_create_bucket; }

s3_stop() { stop_pid s3; }

s3_where() { echo "http://127.0.0.1:$S3_PORT bucket $S3_BUCKET (console http://127.0.0.1:$S3_CONSOLE_PORT), log .stack/logs/s3.log"; }
