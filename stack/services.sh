# What stack/ manages, in start order (down goes in reverse). Sourced by up.sh, down.sh and status.sh.
SERVICES=(secrets postgres mariadb temporal kafka cassandra s3 spark zipkin prometheus) # `npm run stack:up`; secrets: this machine's keys, first
APPS=(worker bridge api subscribers)                  # MetaSync's own processes: `npm start` restarts them
for svc in "${SERVICES[@]}" "${APPS[@]}"; do
  # shellcheck source=/dev/null
  source "$STACK_DIR/services/$svc.sh"
done
