//go:build tools

// Package tools pins the Temporal server and its SQL tool as dependencies of
// this wrapper module; build.sh builds the two commands from it.
package tools

import (
	_ "go.temporal.io/server/cmd/server"
	_ "go.temporal.io/server/cmd/tools/sql"
)
