# This machine's own secrets, made once, before any process needs them, in $SECRETS_DIR (owner-only files outside
# the clone), where lib/platform/config.ts finds them:
#   secrets-key    the sealing key (METASYNC_SECRETS_KEY): seals connection passwords and webhook secrets in
#                  PostgreSQL and signs page tokens
#   s3-secret-key  the local MinIO's secret key (METASYNC_S3_SECRET_KEY), which stack/services/s3.sh starts it with
# Never stopped or deleted here: values sealed under the key would be lost. Rotation: docs/security.md ("Secrets").
secrets_install() { :; } # nothing to download: openssl makes them

secrets_start() {
  stack_secret secrets-key >/dev/null
  stack_secret s3-secret-key >/dev/null
}

secrets_check() {
  local name
  for name in secrets-key s3-secret-key; do
    [ -s "$SECRETS_DIR/$name" ] && [ "$(stat -c %a "$SECRETS_DIR/$name")" = 600 ] || return 1
  done
}

secrets_stop() { :; }

secrets_where() { echo "sealing key and S3 secret in $SECRETS_DIR (owner-only; rotation: docs/security.md)"; }
