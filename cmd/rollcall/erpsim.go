package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"rollcall.dev/services/sync/erpsim"
)

// erpsimCmd runs the stand-in ERP on its own (`rollcall dev` serves it at
// /dev/erp/ on its one port).
type erpsimCmd struct {
	Addr       string        `name:"addr" env:"ERPSIM_ADDR" default:"127.0.0.1:8090" help:"Address to listen on."`
	APIKeys    []string      `name:"api-key" env:"ERPSIM_API_KEYS" default:"dev-api-key" help:"API keys /auth accepts (repeat or comma-separate)."`
	Latency    time.Duration `name:"latency" help:"Latency added to every API request."`
	ErrorRate  float64       `name:"error-rate" help:"Share of API requests answering 500 (0 to 1)."`
	TokenTTL   time.Duration `name:"token-ttl" default:"1h" help:"Lifetime of access tokens."`
	RetryAfter time.Duration `name:"retry-after" default:"1s" help:"Retry-After of injected 429s (switch them on with PUT /_admin/faults)."`
}

func (c *erpsimCmd) Run(ctx context.Context) error {
	if c.ErrorRate < 0 || c.ErrorRate > 1 {
		return errors.New("--error-rate: want 0 to 1")
	}
	sim := erpsim.New(erpsim.Options{APIKeys: c.APIKeys, Faults: erpsim.Faults{
		Latency: c.Latency, ErrorRate: c.ErrorRate, TokenTTL: c.TokenTTL, RetryAfter: c.RetryAfter,
	}})
	return serveStandIn(ctx, "erpsim", c.Addr, sim, func(base string) string {
		return fmt.Sprintf("rollcall erpsim: a stand-in ERP for development and tests (NOT a real ERP)\n"+
			"  API (24SevenOffice payroll shape)  %s/auth, %s/employee/v2, %s/employment/v2/{empId}\n"+
			"  employees (JSON)                   %s/_admin/employees\n"+
			"  fault switches                     GET/PUT %s/_admin/faults\n"+
			"Press Ctrl-C to stop.\n", base, base, base, base, base)
	})
}

// serveStandIn serves a development stand-in on addr until ctx ends,
// printing banner(base URL) once it listens, then shuts it down.
func serveStandIn(ctx context.Context, name, addr string, h http.Handler, banner func(base string) string) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprint(os.Stdout, banner("http://"+displayAddr(ln.Addr().String())))
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
		return fmt.Errorf("%s shutdown: %w", name, err)
	}
	return nil
}
