// Command sync runs the Rollcall sync service. Configuration comes from the
// environment (see the README's configuration table).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"rollcall.dev/pkg/platform"
	syncsvc "rollcall.dev/services/sync"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "sync: %v\n", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	var cfg syncsvc.Config
	if err := platform.LoadEnv(ctx, &cfg); err != nil {
		return err
	}
	return platform.ServeOne(ctx, syncsvc.Module(cfg))
}
