#!/usr/bin/env bash
# Installs (first run only) and starts the local stack: `bash stack/up.sh [service ...]`. Harmless to re-run.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$STACK_DIR/services.sh"
chosen=("$@"); [ ${#chosen[@]} -gt 0 ] || chosen=("${SERVICES[@]}")
for svc in "${chosen[@]}"; do
  "${svc}_install"
  if "${svc}_check" >/dev/null 2>&1; then
    say "$svc: already up — $("${svc}_where")"
  else
    say "$svc: starting"
    "${svc}_start"
    say "$svc: up — $("${svc}_where")"
  fi
  if declare -F "${svc}_provision" >/dev/null; then "${svc}_provision"; fi
done
