// Command probe is the healthcheck of Rollcall's container images: it GETs
// one URL and exits 0 when the answer is 2xx, 1 otherwise. The images are
// distroless (no shell, no curl), so docker-compose's healthchecks run it:
//
//	test: ["CMD", "/probe", "http://127.0.0.1:8080/readyz"]
//
// Kubernetes does not need it: its probes use httpGet.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

// run returns the exit code: 0 healthy, 1 unhealthy, 2 usage error.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: probe [-timeout 3s] http://host:port/path") }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "probe: %q is not an http(s) URL\n", fs.Arg(0))
		return 2
	}
	if err := check(u.String(), *timeout); err != nil {
		fmt.Fprintf(stderr, "probe: %v\n", err)
		return 1
	}
	return 0
}

func check(target string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return errors.New("no answer: " + err.Error())
	}
	defer resp.Body.Close()
	// The body says which readiness check failed; show it in
	// `docker inspect` (healthcheck output), bounded.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %d: %s", target, resp.StatusCode, body)
	}
	return nil
}
