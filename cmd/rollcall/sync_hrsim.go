package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"rollcall.dev/services/sync/hrsim"
)

// syncHrsimCmd runs the stand-in HR system on its own (`rollcall dev`
// serves it at /dev/hr/ on its one port).
type syncHrsimCmd struct {
	Addr    string        `name:"addr" env:"HRSIM_ADDR" default:"127.0.0.1:8091" help:"Address to listen on."`
	Tokens  []string      `name:"token" env:"HRSIM_TOKENS" default:"dev-hr-token" help:"Bearer tokens the API accepts (repeat or comma-separate)."`
	Latency time.Duration `name:"latency" help:"Latency added to every API request."`
}

func (c *syncHrsimCmd) Run(ctx context.Context) error {
	sim := hrsim.New(hrsim.Options{Tokens: c.Tokens})
	sim.SetFaults(hrsim.Faults{Latency: c.Latency})
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + displayAddr(ln.Addr().String())
	fmt.Fprintf(os.Stdout, "rollcall sync hrsim: a stand-in HR system for development and tests (NOT a real HR system)\n"+
		"  API (Huma-style)   %s/tenants/{tenant}/users\n"+
		"  users (JSON)       GET/POST %s/_admin/tenants/{tenant}/users\n"+
		"  fault switches     GET/PUT %s/_admin/faults\n"+
		"Press Ctrl-C to stop.\n", base, base, base)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("hrsim shutdown: %w", err)
	}
	return nil
}
