package main

import (
	"context"
	"fmt"
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
	return serveStandIn(ctx, "hrsim", c.Addr, sim, func(base string) string {
		return fmt.Sprintf("rollcall sync hrsim: a stand-in HR system for development and tests (NOT a real HR system)\n"+
			"  API (Huma-style)   %s/tenants/{tenant}/users\n"+
			"  users (JSON)       GET/POST %s/_admin/tenants/{tenant}/users\n"+
			"  fault switches     GET/PUT %s/_admin/faults\n"+
			"Press Ctrl-C to stop.\n", base, base, base)
	})
}
