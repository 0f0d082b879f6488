package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"rollcall.dev/cmd/rollcall/internal/devpg"
	"rollcall.dev/pkg/notify/mailsink"
	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/server"
	"rollcall.dev/pkg/telemetry"
	identity "rollcall.dev/services/identity"
	integratorpolicy "rollcall.dev/services/integrator-policy"
	invitation "rollcall.dev/services/invitation"
	syncsvc "rollcall.dev/services/sync"
)

type devCmd struct {
	HTTPAddr    string        `name:"http-addr" env:"HTTP_ADDR" default:"127.0.0.1:8080" help:"Address of the one HTTP port serving every service (Connect, gRPC, health, metrics). Loopback by default: the dev stack has well-known tokens; set 0.0.0.0:8080 deliberately to expose it."`
	DatabaseURL string        `name:"database-url" env:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" help:"PostgreSQL server to use; one database per service is created on it."`
	DBPrefix    string        `name:"db-prefix" env:"ROLLCALL_DB_PREFIX" default:"rollcall_" help:"Prefix of the per-service database names."`
	DataDir     string        `name:"data-dir" env:"ROLLCALL_DATA_DIR" default:".rollcall" help:"Where the embedded NATS (and a private PostgreSQL, if one is needed) keep their data."`
	NATSPort    int           `name:"nats-port" env:"ROLLCALL_NATS_PORT" default:"-1" help:"Client port of the embedded NATS server (-1: a free port)."`
	LogLevel    string        `name:"log-level" env:"LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Log level."`
	OTLP        string        `name:"otlp-endpoint" env:"OTEL_EXPORTER_OTLP_ENDPOINT" help:"Send traces over OTLP/gRPC here (e.g. localhost:4317 for Jaeger)."`
	Shutdown    time.Duration `name:"shutdown-timeout" env:"SHUTDOWN_TIMEOUT" default:"15s" help:"How long to wait for in-flight work on Ctrl-C."`
}

func (d *devCmd) Run(ctx context.Context) error {
	out := os.Stdout
	level, err := platform.ParseLevel(d.LogLevel)
	if err != nil {
		return err
	}
	dataDir, err := filepath.Abs(d.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(dataDir, "rollcall.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	defer logFile.Close()
	tel, err := telemetry.Setup(ctx, telemetry.Config{
		ServiceName: "rollcall-dev", ServiceVersion: platform.Version,
		OTLPEndpoint: d.OTLP, OTLPInsecure: true, LogLevel: level,
		LogWriter: io.MultiWriter(logFile, warnOnly{os.Stderr}),
	})
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	defer func() { _ = tel.Shutdown(context.WithoutCancel(ctx)) }()
	log := tel.Logger()

	// PostgreSQL: the server at DATABASE_URL, else a private throwaway cluster.
	pgURL := d.DatabaseURL
	pgNote := "PostgreSQL at " + redact(pgURL)
	if perr := devpg.Probe(ctx, pgURL); perr != nil {
		bin, berr := devpg.FindBinaries()
		if berr != nil {
			return fmt.Errorf("no PostgreSQL answers at %s and no server binaries are installed to start a private one: install PostgreSQL or set DATABASE_URL: %w", redact(pgURL), perr)
		}
		fmt.Fprintf(out, "No PostgreSQL answers at %s; starting a private throwaway cluster under %s ...\n", redact(pgURL), filepath.Join(dataDir, "pg"))
		cluster, err := devpg.Start(ctx, devpg.Options{
			Dir: filepath.Join(dataDir, "pg"), BinDir: bin,
			Logf: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...), "component", "devpg") },
		})
		if err != nil {
			return fmt.Errorf("private PostgreSQL: %w", err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := cluster.Stop(sctx); err != nil {
				fmt.Fprintf(os.Stderr, "stopping the private PostgreSQL: %v\n", err)
			}
		}()
		pgURL = cluster.URL()
		pgNote = "private PostgreSQL cluster " + cluster.String()
	}

	// The mail and SMS sink: a real SMTP server keeping messages in memory,
	// shown at /dev/mail/ on the same HTTP port.
	sink, err := mailsink.Start(ctx, mailsink.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("mail sink: %w", err)
	}
	defer func() { _ = sink.Close(context.WithoutCancel(ctx)) }()

	// Bind the HTTP port now: the services call each other on it, so they
	// must know it before they are built (":0" picks a free port).
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", d.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", d.HTTPAddr, err)
	}
	defer func() { _ = ln.Close() }()
	smtpHost, smtpPort := sink.SMTPHostPort()
	token, err := platform.DevSecret(filepath.Join(dataDir, "service-token"))
	if err != nil {
		return err
	}
	env := platform.DevEnv{
		BaseURL: "http://" + dialAddr(ln.Addr().String()), ServiceToken: token, DataDir: dataDir,
		SMTPHost: smtpHost, SMTPPort: smtpPort, Out: out, Log: log,
	}
	modules, err := devModules(env)
	if err != nil {
		return err
	}
	units := make([]platform.Unit, 0, len(modules))
	dbNames := make(map[string]string, len(modules))
	for _, m := range modules {
		name := d.DBPrefix + sanitize(m.Name())
		if err := devpg.EnsureDatabase(ctx, pgURL, name); err != nil {
			return fmt.Errorf("database for %s: %w", m.Name(), err)
		}
		u, err := devpg.WithDatabase(pgURL, name)
		if err != nil {
			return err
		}
		units = append(units, platform.Unit{Module: m, DatabaseURL: u})
		dbNames[m.Name()] = name
	}

	// NATS JetStream, embedded, with its store under the data dir.
	ns, err := natsserver.NewServer(&natsserver.Options{
		ServerName: "rollcall-dev",
		Host:       "127.0.0.1",
		Port:       d.NATSPort,
		JetStream:  true,
		StoreDir:   filepath.Join(dataDir, "nats"),
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return fmt.Errorf("embedded NATS: %w", err)
	}
	ns.Start()
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()
	if !ns.ReadyForConnections(15 * time.Second) {
		return errors.New("embedded NATS did not start within 15s")
	}
	// Tell other commands on this machine (rollcall events) where NATS is.
	urlFile := filepath.Join(dataDir, "nats.url")
	if err := os.WriteFile(urlFile, []byte(ns.ClientURL()+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", urlFile, err)
	}
	defer func() { _ = os.Remove(urlFile) }()

	err = platform.Run(ctx, platform.Options{
		Addr:            d.HTTPAddr,
		Listener:        ln,
		NATSURL:         ns.ClientURL(),
		ShutdownTimeout: d.Shutdown,
		Log:             log,
		ExtraHandlers: []server.Handler{
			{Path: "/dev/mail/", Handler: http.StripPrefix("/dev/mail", sink.Handler())},
			{Path: "/invite", Handler: http.HandlerFunc(serveInvitePage)},
		},
		OnReady: func(addr string) {
			base := "http://" + displayAddr(addr)
			fmt.Fprintf(out, "\nRollcall dev stack is ready.\n\n")
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "  HTTP (Connect, gRPC, JSON)\t%s\n", base)
			fmt.Fprintf(tw, "  health / readiness\t%s/healthz  %s/readyz\n", base, base)
			fmt.Fprintf(tw, "  metrics\t%s/metrics\n", base)
			fmt.Fprintf(tw, "  NATS JetStream (embedded)\t%s  (store %s)\n", ns.ClientURL(), filepath.Join(dataDir, "nats"))
			fmt.Fprintf(tw, "  mail and SMS sink\t%s/dev/mail/  (SMTP %s)\n", base, sink.SMTPAddr())
			fmt.Fprintf(tw, "  invitee page (links land here)\t%s/invite\n", base)
			fmt.Fprintf(tw, "  PostgreSQL\t%s\n", pgNote)
			for _, m := range modules {
				fmt.Fprintf(tw, "  service %s\tdatabase %s\n", m.Name(), dbNames[m.Name()])
			}
			fmt.Fprintf(tw, "  logs\t%s\n", logFile.Name())
			if d.OTLP != "" {
				fmt.Fprintf(tw, "  traces (OTLP)\t%s\n", d.OTLP)
			}
			_ = tw.Flush()
			fmt.Fprintf(out, "\nPress Ctrl-C to stop.\n")
		},
	}, units...)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "Stopped cleanly.")
	return nil
}

// warnOnly passes only warnings and errors to the terminal; the full log goes
// to the log file.
type warnOnly struct{ w io.Writer }

func (w warnOnly) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(`"level":"WARN"`)) || bytes.Contains(p, []byte(`"level":"ERROR"`)) {
		return w.w.Write(p)
	}
	return len(p), nil
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			b[i] = '_'
		}
	}
	return string(b)
}

func displayAddr(addr string) string {
	if len(addr) > 0 && addr[0] == ':' {
		return "localhost" + addr
	}
	if len(addr) > 5 && addr[:5] == "[::]:" {
		return "localhost" + addr[4:]
	}
	return addr
}

func redact(u string) string { return telemetry.RedactString(u) }

// devModules builds the four services with their development configuration.
func devModules(env platform.DevEnv) ([]platform.Module, error) {
	invCfg, err := invitation.DevConfig(env)
	if err != nil {
		return nil, fmt.Errorf("invitation config: %w", err)
	}
	idCfg, err := identity.DevConfig(env)
	if err != nil {
		return nil, fmt.Errorf("identity config: %w", err)
	}
	ipCfg, err := integratorpolicy.DevConfig(env)
	if err != nil {
		return nil, fmt.Errorf("integrator-policy config: %w", err)
	}
	syCfg, err := syncsvc.DevConfig(env)
	if err != nil {
		return nil, fmt.Errorf("sync config: %w", err)
	}
	return []platform.Module{invitation.Module(invCfg), identity.Module(idCfg), integratorpolicy.Module(ipCfg), syncsvc.Module(syCfg)}, nil
}

// dialAddr turns a bound address (":8080", "[::]:8080") into one to dial.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
