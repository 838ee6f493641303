#!/usr/bin/env bash
# Waits for every Prometheus scrape target to be up and names those that are not: `bash stack/targets.sh [seconds]`.
# Exits 1 when some target stays down (npm start runs it after starting the apps, and only warns).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$STACK_DIR/services.sh"
prometheus_targets "${1:-30}"
