package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"

	"rollcall.dev/pkg/telemetry"
)

// Check is one readiness condition, such as "postgres" pinging its pool. Fn
// must honour ctx's deadline and return an error that says what is wrong
// without secrets; messages are shown on /readyz (URL passwords are masked as
// a last resort).
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// checkResult is one check's outcome: "ok" or its error message.
type checkResult struct {
	name   string
	status string
	ok     bool
}

// runChecks runs every check concurrently under s.readyTimeout. A check that
// ignores its context is reported as timed out rather than holding the probe.
func (s *Server) runChecks(ctx context.Context) (map[string]string, bool) {
	ctx, cancel := context.WithTimeout(ctx, s.readyTimeout)
	defer cancel()

	results := make(chan checkResult, len(s.checks))
	for _, c := range s.checks {
		go func() {
			results <- runCheck(ctx, c)
		}()
	}

	statuses := make(map[string]string, len(s.checks))
	allOK := true
	for range s.checks {
		select {
		case r := <-results:
			statuses[r.name] = r.status
			allOK = allOK && r.ok
		case <-ctx.Done():
			for _, c := range s.checks {
				if _, done := statuses[c.Name]; !done {
					statuses[c.Name] = fmt.Sprintf("timed out after %s", s.readyTimeout)
				}
			}
			return statuses, false
		}
	}
	return statuses, allOK
}

func runCheck(ctx context.Context, c Check) (r checkResult) {
	r.name = c.Name
	defer func() {
		if p := recover(); p != nil {
			r.status, r.ok = fmt.Sprintf("panic: %v", p), false
		}
	}()
	if err := c.Fn(ctx); err != nil {
		return checkResult{name: c.Name, status: telemetry.RedactString(err.Error())}
	}
	return checkResult{name: c.Name, status: "ok", ok: true}
}

// ready runs the checks and logs when readiness changes, so an operator sees
// "not ready: postgres ..." once rather than on every probe.
func (s *Server) ready(ctx context.Context) (map[string]string, bool) {
	statuses, ok := s.runChecks(ctx)
	first := !s.readyLogged.Swap(true)
	if was := s.lastReady.Swap(ok); first || was != ok {
		if ok {
			s.log.Info("ready", slog.Any("checks", statuses))
		} else {
			s.log.Warn("not ready", slog.Any("checks", statuses))
		}
	}
	return statuses, ok
}

type readyBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	statuses, ok := s.ready(r.Context())
	body := readyBody{Status: "ready", Checks: statuses}
	code := http.StatusOK
	if !ok {
		body.Status, code = "not ready", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok"))
}

// healthChecker answers grpc.health.v1 from the same readiness checks: the
// whole server ("") and every served service are SERVING exactly when all
// checks pass.
type healthChecker struct {
	s        *Server
	services map[string]bool
}

func (h healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if req.Service != "" && !h.services[req.Service] {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %q", req.Service))
	}
	if _, ok := h.s.ready(ctx); !ok {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

const defaultReadyTimeout = 2 * time.Second
