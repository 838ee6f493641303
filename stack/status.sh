#!/usr/bin/env bash
# Prints each service up or down; exits 1 when any is down: `bash stack/status.sh [service ...]`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$STACK_DIR/services.sh"
chosen=("$@"); [ ${#chosen[@]} -gt 0 ] || chosen=("${SERVICES[@]}" "${APPS[@]}")
down=0
for svc in "${chosen[@]}"; do
  if "${svc}_check" >/dev/null 2>&1; then
    printf '%-10s up    %s\n' "$svc" "$("${svc}_where")"
  else
    printf '%-10s down\n' "$svc"; down=1
  fi
done
exit $down
