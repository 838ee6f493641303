//go:build tools

// Package tools pins the Temporal Web UI server (which embeds the built UI) as a dependency of this wrapper
// module; stack/temporal-server/build.sh builds its command from here. A module of its own, so its
// dependencies never move the server's (../go.mod).
package tools

import (
	_ "github.com/temporalio/ui-server/v2/cmd/server"
)
