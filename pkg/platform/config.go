package platform

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Config is what every service binary reads from its environment (with
// github.com/sethvargo/go-envconfig, once, in main).
type Config struct {
	HTTPAddr        string        `env:"HTTP_ADDR, default=:8080"`
	DatabaseURL     string        `env:"DATABASE_URL, required"`
	DBMaxConns      int32         `env:"DATABASE_MAX_CONNS, default=10"`
	NATSURL         string        `env:"NATS_URL, default=nats://127.0.0.1:4222"`
	NATSCredentials string        `env:"NATS_CREDENTIALS"` // path to a .creds file (per-service account)
	NATSUser        string        `env:"NATS_USER"`        // user/password login (deploy/nats); instead of one in NATS_URL
	NATSPassword    string        `env:"NATS_PASSWORD"`
	StreamReplicas  int           `env:"STREAM_REPLICAS, default=1"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT, default=15s"`
	RelayInterval   time.Duration `env:"OUTBOX_POLL_INTERVAL, default=200ms"`
	OTLPEndpoint    string        `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	LogLevel        string        `env:"LOG_LEVEL, default=info"`
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	switch {
	case c.HTTPAddr == "":
		return fmt.Errorf("HTTP_ADDR: must not be empty")
	case !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://"):
		return fmt.Errorf("DATABASE_URL: want a postgres:// URL")
	case c.DBMaxConns < 2 || c.DBMaxConns > 1000:
		return fmt.Errorf("DATABASE_MAX_CONNS: want 2 to 1000, got %d", c.DBMaxConns)
	case c.NATSURL == "":
		return fmt.Errorf("NATS_URL: must not be empty")
	case (c.NATSUser == "") != (c.NATSPassword == ""):
		return fmt.Errorf("NATS_USER and NATS_PASSWORD: set both or neither")
	case c.NATSUser != "" && c.NATSCredentials != "":
		return fmt.Errorf("NATS_USER: choose NATS_USER/NATS_PASSWORD or NATS_CREDENTIALS, not both")
	case c.StreamReplicas != 1 && c.StreamReplicas != 3 && c.StreamReplicas != 5:
		return fmt.Errorf("STREAM_REPLICAS: want 1, 3 or 5, got %d", c.StreamReplicas)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("SHUTDOWN_TIMEOUT: must be positive")
	case c.RelayInterval <= 0:
		return fmt.Errorf("OUTBOX_POLL_INTERVAL: must be positive")
	}
	_, err := ParseLevel(c.LogLevel)
	return err
}

// ParseLevel parses debug, info, warn or error.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("LOG_LEVEL: want debug, info, warn or error, got %q", s)
	}
	return l, nil
}
