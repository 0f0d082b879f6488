package platform

import (
	"context"
	"fmt"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/sethvargo/go-envconfig"

	"rollcall.dev/pkg/telemetry"
)

// Version is stamped at build time with -ldflags "-X rollcall.dev/pkg/platform.Version=...".
var Version = "dev"

// LoadConfig reads Config from the environment and validates it.
func LoadConfig(ctx context.Context) (Config, error) {
	var cfg Config
	if err := envconfig.Process(ctx, &cfg); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// ServeOne is the body of a service binary's realMain: it reads Config,
// sets up telemetry, and runs the one module until ctx ends.
func ServeOne(ctx context.Context, m Module) error {
	cfg, err := LoadConfig(ctx)
	if err != nil {
		return err
	}
	level, _ := ParseLevel(cfg.LogLevel) // validated above
	tel, err := telemetry.Setup(ctx, telemetry.Config{
		ServiceName:    "rollcall-" + m.Name(),
		ServiceVersion: Version,
		OTLPEndpoint:   cfg.OTLPEndpoint,
		OTLPInsecure:   true,
		LogLevel:       level,
		LogWriter:      os.Stderr,
	})
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	defer func() { _ = tel.Shutdown(context.WithoutCancel(ctx)) }()

	var natsOpts []nats.Option
	if cfg.NATSCredentials != "" {
		natsOpts = append(natsOpts, nats.UserCredentials(cfg.NATSCredentials))
	}
	if cfg.NATSUser != "" {
		natsOpts = append(natsOpts, nats.UserInfo(cfg.NATSUser, cfg.NATSPassword))
	}
	return Run(ctx, Options{
		Addr:            cfg.HTTPAddr,
		DBMaxConns:      cfg.DBMaxConns,
		NATSURL:         cfg.NATSURL,
		NATSOptions:     natsOpts,
		StreamReplicas:  cfg.StreamReplicas,
		ShutdownTimeout: cfg.ShutdownTimeout,
		RelayInterval:   cfg.RelayInterval,
		Log:             tel.Logger(),
	}, Unit{Module: m, DatabaseURL: cfg.DatabaseURL})
}

// Validator is a service Config that can check itself.
type Validator interface{ Validate() error }

// LoadEnv reads a service's own Config (env struct tags, as Config) from the
// environment and validates it. Service mains call it once, then pass the
// Config to their Module constructor.
func LoadEnv(ctx context.Context, cfg Validator) error {
	if err := envconfig.Process(ctx, cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}
