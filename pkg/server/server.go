package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"

	"rollcall.dev/pkg/telemetry"
)

// Handler is a Connect service handler and the path prefix it serves, as
// returned by a generated NewXxxServiceHandler.
type Handler struct {
	Path    string
	Handler http.Handler
}

// Config configures the listener and timeouts. Zero values get defaults.
type Config struct {
	// Addr is the TCP address to listen on, e.g. ":8080". Port 0 picks a
	// free port; Addr reports the real one after Listen.
	Addr string
	// Listener, when set, is used instead of listening on Addr (a caller
	// that must know the port before the services are built binds it).
	Listener net.Listener
	// ShutdownTimeout bounds how long Serve waits for in-flight requests
	// after its context ends (default 10s). Streams still open then are cut.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds reading request headers (default 10s).
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections (default 2m).
	IdleTimeout time.Duration
	// ReadyTimeout bounds one run of the readiness checks (default 2s).
	ReadyTimeout time.Duration
}

// Server serves Connect handlers and the operational endpoints on one port.
// Create it with New, then call Serve (optionally Listen first).
type Server struct {
	cfg          Config
	log          *slog.Logger
	checks       []Check
	readyTimeout time.Duration
	lastReady    atomic.Bool
	readyLogged  atomic.Bool
	http         *http.Server

	mu sync.Mutex
	ln net.Listener

	shutdownOnce sync.Once
	shutdownErr  error
}

// New builds the server and its routes without binding the port:
//
//   - every handler in handlers (their paths must not overlap);
//   - grpc.health.v1.Health, answering for "" and each of serviceNames,
//     SERVING when all ready checks pass and NOT_SERVING otherwise;
//   - gRPC reflection v1 and v1alpha for serviceNames and the health service
//     (their descriptors must be in the global registry, as generated code
//     registers them);
//   - GET /healthz, GET /readyz and GET /metrics.
//
// serviceNames are fully qualified, as in the generated XxxServiceName
// constants.
func New(cfg Config, log *slog.Logger, handlers []Handler, serviceNames []string, ready []Check) (*Server, error) {
	if log == nil {
		return nil, errors.New("server: nil logger")
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = 10 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 2 * time.Minute
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = defaultReadyTimeout
	}
	seen := make(map[string]bool, len(ready))
	for _, c := range ready {
		if c.Name == "" || c.Fn == nil {
			return nil, fmt.Errorf("server: ready check %q needs a name and a function", c.Name)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("server: duplicate ready check %q", c.Name)
		}
		seen[c.Name] = true
	}

	s := &Server{
		cfg:          cfg,
		log:          log,
		checks:       append([]Check(nil), ready...),
		readyTimeout: cfg.ReadyTimeout,
	}

	mux := http.NewServeMux()
	for _, h := range handlers {
		if h.Path == "" || h.Handler == nil {
			return nil, fmt.Errorf("server: handler %q needs a path and a handler", h.Path)
		}
		if err := handle(mux, h.Path, h.Handler); err != nil {
			return nil, err
		}
	}

	known := make(map[string]bool, len(serviceNames))
	for _, name := range serviceNames {
		known[name] = true
	}
	healthPath, healthHandler := grpchealth.NewHandler(healthChecker{s: s, services: known})
	reflector := grpcreflect.NewStaticReflector(append(append([]string(nil), serviceNames...), grpchealth.HealthV1ServiceName)...)
	reflectV1Path, reflectV1 := grpcreflect.NewHandlerV1(reflector)
	reflectV1AlphaPath, reflectV1Alpha := grpcreflect.NewHandlerV1Alpha(reflector)
	for _, r := range []Handler{
		{healthPath, healthHandler},
		{reflectV1Path, reflectV1},
		{reflectV1AlphaPath, reflectV1Alpha},
		{"GET /healthz", http.HandlerFunc(handleHealthz)},
		{"GET /readyz", http.HandlerFunc(s.handleReadyz)},
		{"GET /metrics", telemetry.MetricsHandler()},
	} {
		if err := handle(mux, r.Path, r.Handler); err != nil {
			return nil, err
		}
	}

	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // h2c with prior knowledge, for gRPC
	s.http = &http.Server{
		Addr:              cfg.Addr,
		Handler:           mux,
		Protocols:         &protocols,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// handle turns ServeMux's panic on a conflicting pattern into an error.
func handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("server: route %q: %v", pattern, p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// Listen binds the configured address. Serve calls it when needed; call it
// yourself to learn the port of ":0" (via Addr) before serving.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("server: already listening")
	}
	if s.cfg.Listener != nil {
		s.ln = s.cfg.Listener
		return nil
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %q: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address once listening (with the real port), else the
// configured one.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.cfg.Addr
}

// Serve serves until ctx is done, then shuts down gracefully: the listener
// closes at once, in-flight requests get up to ShutdownTimeout to finish. It
// returns nil after a clean shutdown, and an error if serving failed or
// requests were cut off.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
		s.mu.Lock()
		ln = s.ln
		s.mu.Unlock()
	}

	s.log.Info("serving", slog.String("addr", ln.Addr().String()))
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.http.Serve(ln) }()

	select {
	case err := <-serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			return nil // Shutdown was called directly
		}
		return fmt.Errorf("server: serve: %w", err)
	case <-ctx.Done():
	}

	s.log.Info("shutting down", slog.Duration("timeout", s.cfg.ShutdownTimeout))
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err := s.Shutdown(shutdownCtx)
	<-serveErr //nolint:errcheck // returns ErrServerClosed as soon as Shutdown starts
	return err
}

// Shutdown stops accepting connections and waits, until ctx ends, for
// in-flight requests; whatever is still open then is closed. It is safe to
// call more than once and before Serve; later calls return the first result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		err := s.http.Shutdown(ctx)
		if err != nil {
			// Cut what did not finish in time rather than leak it.
			_ = s.http.Close()
			s.shutdownErr = fmt.Errorf("server: graceful shutdown: %w", err)
		}
		// Shutdown only closes listeners Serve has seen.
		s.mu.Lock()
		if s.ln != nil {
			_ = s.ln.Close()
		}
		s.mu.Unlock()
	})
	return s.shutdownErr
}
