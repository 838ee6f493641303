#!/usr/bin/env bash
# Stops the local stack (data is kept under .stack/data): `bash stack/down.sh [service ...]`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$STACK_DIR/services.sh"
chosen=("$@"); [ ${#chosen[@]} -gt 0 ] || chosen=("${SERVICES[@]}" "${APPS[@]}")
for ((i = ${#chosen[@]} - 1; i >= 0; i--)); do
  say "${chosen[$i]}: stopping"
  "${chosen[$i]}_stop"
done
