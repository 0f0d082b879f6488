package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/pgdb"
	"rollcall.dev/pkg/server"
)

// Unit is a module and the database it owns.
type Unit struct {
	Module      Module
	DatabaseURL string
}

// Options configure Run.
type Options struct {
	Addr            string
	Listener        net.Listener // optional: an already bound listener, used instead of Addr
	DBMaxConns      int32        // per service pool; 0 = pgxpool's default
	NATSURL         string
	NATSOptions     []nats.Option // e.g. nats.UserCredentials
	StreamReplicas  int
	ShutdownTimeout time.Duration
	RelayInterval   time.Duration
	Log             *slog.Logger
	// ExtraHandlers are mounted beside the modules' (e.g. the dev mail sink).
	ExtraHandlers []server.Handler
	// OnReady is called once the server listens, with its address.
	OnReady func(addr string)
}

type unitState struct {
	name   string
	pool   *pgxpool.Pool
	relay  *outbox.Relay
	runner *bus.Runner
	comp   *Component
}

// Run starts the units and serves until ctx is done, then shuts everything
// down in reverse order: the server (letting in-flight requests finish), the
// consumers (draining), background work, the relays, the pools and NATS.
func Run(ctx context.Context, opts Options, units ...Unit) (err error) {
	if len(units) == 0 {
		return errors.New("platform: no units to run")
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 15 * time.Second
	}

	nc, err := nats.Connect(opts.NATSURL, append([]nats.Option{
		nats.Name("rollcall-" + units[0].Module.Name()),
		// Replies to this service (JetStream API answers, publish acks,
		// pulled messages) come to its own inbox prefix, so the NATS
		// permissions in deploy/nats let each service read only its own.
		nats.CustomInboxPrefix(InboxPrefix(units[0].Module.Name())),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrlRedacted()) }),
		// Asynchronous errors (a permissions violation, a slow consumer)
		// would otherwise go nowhere.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Error("nats error", "subject", subject, "error", err)
		}),
	}, opts.NATSOptions...)...)
	if err != nil {
		return fmt.Errorf("platform: connect to NATS at %s: %w", redactURL(opts.NATSURL), err)
	}
	defer nc.Close()
	js, err := bus.NewJetStream(nc)
	if err != nil {
		return fmt.Errorf("platform: %w", err)
	}
	drift, err := bus.EnsureStreams(ctx, js, bus.StreamOptions{Replicas: opts.StreamReplicas})
	if err != nil {
		return fmt.Errorf("platform: %w", err)
	}
	for _, d := range drift {
		log.Warn("stream differs from what Rollcall would create; left as it is", "detail", d)
	}
	handlerOpts, err := server.HandlerOptions()
	if err != nil {
		return fmt.Errorf("platform: handler options: %w", err)
	}
	publisher := bus.NewPublisher(js)

	var states []*unitState
	// One deadline for the whole shutdown, counted from the signal: the
	// HTTP server, the consumers and the relays share ShutdownTimeout, so an
	// orchestrator's grace period of the same length is never exceeded.
	var (
		stopMu   sync.Mutex
		stopping time.Time
	)
	stopAfter := context.AfterFunc(ctx, func() {
		stopMu.Lock()
		stopping = time.Now()
		stopMu.Unlock()
	})
	defer stopAfter()
	shutdownCtx := func() (context.Context, context.CancelFunc) {
		stopMu.Lock()
		start := stopping
		stopMu.Unlock()
		if start.IsZero() {
			start = time.Now() // start-up failed: no signal yet
		}
		return context.WithDeadline(context.WithoutCancel(ctx), start.Add(opts.ShutdownTimeout))
	}
	defer func() {
		sctx, cancel := shutdownCtx()
		defer cancel()
		for i := len(states) - 1; i >= 0; i-- {
			s := states[i]
			if s.runner != nil {
				if serr := s.runner.Stop(sctx); serr != nil {
					log.Warn("consumers did not drain", "service", s.name, "error", serr)
				}
			}
			if s.comp != nil && s.comp.Stop != nil {
				if serr := s.comp.Stop(sctx); serr != nil {
					log.Warn("background work did not stop cleanly", "service", s.name, "error", serr)
				}
			}
			if s.relay != nil {
				s.relay.Stop()
			}
			s.pool.Close()
		}
		if !nc.IsConnected() {
			nc.Close() // nothing to flush; Drain would wait for a reconnect
			return
		}
		if derr := nc.Drain(); derr != nil && !errors.Is(derr, nats.ErrConnectionClosed) {
			log.Warn("nats drain", "error", derr)
			return
		}
		// Drain is asynchronous; the deferred Close must not cut it short.
		for !nc.IsClosed() && sctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}()

	var (
		handlers     []server.Handler
		serviceNames []string
		checks       = []server.Check{{Name: "nats", Fn: func(context.Context) error {
			if !nc.IsConnected() {
				return fmt.Errorf("not connected (%s)", nc.Status())
			}
			return nil
		}}}
	)
	for _, u := range units {
		name := u.Module.Name()
		ulog := log.With("service", name)
		pool, err := pgdb.NewPool(ctx, pgdb.PoolConfig{URL: u.DatabaseURL, Name: name, MaxConns: opts.DBMaxConns})
		if err != nil {
			return fmt.Errorf("platform: %s: %w", name, err)
		}
		s := &unitState{name: name, pool: pool}
		states = append(states, s)
		migrations, err := pgdb.Migrations(u.Module.Migrations())
		if err != nil {
			return fmt.Errorf("platform: %s: %w", name, err)
		}
		if err := pgdb.Migrate(ctx, pool, migrations, ulog); err != nil {
			return fmt.Errorf("platform: %s: %w", name, err)
		}
		s.relay = outbox.NewRelay(pool, publisher, ulog, outbox.RelayConfig{Service: name, PollInterval: opts.RelayInterval})
		comp, err := u.Module.Build(ctx, Deps{
			Name: name, Source: "/rollcall/" + name, Pool: pool, NC: nc, JS: js, Log: ulog,
			Relay: s.relay, HandlerOptions: append(slices.Clone(handlerOpts), connect.WithInterceptors(logInternalErrors(ulog))),
		})
		if err != nil {
			return fmt.Errorf("platform: build %s: %w", name, err)
		}
		s.comp = comp
		handlers = append(handlers, comp.Handlers...)
		serviceNames = append(serviceNames, comp.ServiceNames...)
		checks = append(checks, server.Check{Name: "postgres:" + name, Fn: pool.Ping})
		if len(comp.Consumers) > 0 {
			if s.runner, err = bus.NewRunner(nc, js, ulog, comp.Consumers...); err != nil {
				return fmt.Errorf("platform: %s consumers: %w", name, err)
			}
		}
	}

	handlers = append(handlers, opts.ExtraHandlers...)
	srv, err := server.New(server.Config{Addr: opts.Addr, Listener: opts.Listener, ShutdownTimeout: opts.ShutdownTimeout}, log, handlers, serviceNames, checks)
	if err != nil {
		return fmt.Errorf("platform: server: %w", err)
	}
	for _, s := range states {
		if err := s.relay.Start(ctx); err != nil {
			return fmt.Errorf("platform: %s relay: %w", s.name, err)
		}
		if s.comp.Start != nil {
			if err := s.comp.Start(ctx); err != nil {
				return fmt.Errorf("platform: start %s: %w", s.name, err)
			}
		}
		if s.runner != nil {
			if err := s.runner.Start(ctx); err != nil {
				return fmt.Errorf("platform: %s: %w", s.name, err)
			}
		}
	}
	if err := srv.Listen(); err != nil {
		return fmt.Errorf("platform: listen on %s: %w", opts.Addr, err)
	}
	log.Info("serving", "addr", srv.Addr(), "services", serviceNames)
	if opts.OnReady != nil {
		opts.OnReady(srv.Addr())
	}
	if err := srv.Serve(ctx); err != nil {
		return fmt.Errorf("platform: serve: %w", err)
	}
	return nil
}

// InboxPrefix is the reply-subject prefix of a service's NATS connection:
// _INBOX.<service>.
func InboxPrefix(service string) string { return "_INBOX." + service }

// redactURL hides the password of a NATS URL (nats://user:secret@host).
func redactURL(raw string) string {
	var out []string
	for _, one := range strings.Split(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(one))
		if err != nil {
			out = append(out, "(unparsable URL)")
			continue
		}
		out = append(out, u.Redacted())
	}
	return strings.Join(out, ",")
}
