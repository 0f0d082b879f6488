package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Config is what Setup needs. It is filled by the service's own config from
// the environment; Setup reads no environment variables itself.
type Config struct {
	// ServiceName and ServiceVersion become the service.name and
	// service.version resource attributes and are stamped on every log line.
	ServiceName    string
	ServiceVersion string

	// OTLPEndpoint is where spans are sent over OTLP gRPC, as "host:port" or
	// "http(s)://host:port" (usually OTEL_EXPORTER_OTLP_ENDPOINT). Empty means
	// spans are not exported, but still carry real trace ids for logs and
	// propagation.
	OTLPEndpoint string
	// OTLPInsecure disables TLS towards a "host:port" endpoint. An "http://"
	// endpoint is always plaintext.
	OTLPInsecure bool

	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// LogWriter receives the JSON log lines; nil means os.Stderr.
	LogWriter io.Writer
}

// Telemetry owns the providers installed by Setup.
type Telemetry struct {
	logger *slog.Logger
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider
	prom   *promSlot

	shutdownOnce sync.Once
	shutdownErr  error
}

// Setup installs the global TracerProvider, propagator (W3C TraceContext and
// Baggage) and MeterProvider, and builds the logger.
//
// The globals are process-wide: calling Setup again (tests, the all-in-one
// dev binary) replaces them, and only the most recent Setup's metrics are
// exported on the default Prometheus registry.
func Setup(ctx context.Context, cfg Config) (*Telemetry, error) {
	if cfg.LogWriter == nil {
		cfg.LogWriter = os.Stderr
	}
	if cfg.ServiceName == "" {
		return nil, errors.New("telemetry: ServiceName is required")
	}

	logAttrs := []slog.Attr{slog.String("service", cfg.ServiceName)}
	if cfg.ServiceVersion != "" {
		logAttrs = append(logAttrs, slog.String("version", cfg.ServiceVersion))
	}
	logger := NewLogger(cfg.LogWriter, cfg.LogLevel, logAttrs...)

	resAttrs := []resource.Option{
		resource.WithTelemetrySDK(),
		// OTEL_RESOURCE_ATTRIBUTES (deployment.environment, k8s labels) is
		// the one thing worth taking from the environment; our own
		// attributes come after it so they win.
		resource.WithFromEnv(),
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(semconv.ServiceName(cfg.ServiceName)),
	}
	if cfg.ServiceVersion != "" {
		resAttrs = append(resAttrs, resource.WithAttributes(semconv.ServiceVersion(cfg.ServiceVersion)))
	}
	res, err := resource.New(ctx, resAttrs...)
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}

	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if cfg.OTLPEndpoint != "" {
		exp, err := newOTLPExporter(ctx, cfg.OTLPEndpoint, cfg.OTLPInsecure)
		if err != nil {
			return nil, err
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)

	slot := &promSlot{}
	promExp, err := otelprom.New(otelprom.WithRegisterer(slot))
	if err != nil {
		_ = tp.Shutdown(ctx)
		return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
	}
	if err := installPromCollector(slot); err != nil {
		_ = tp.Shutdown(ctx)
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(promExp))

	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{},
	))
	// Export failures would otherwise go to the standard library logger.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("opentelemetry error", slog.Any("error", err))
	}))

	return &Telemetry{logger: logger, tp: tp, mp: mp, prom: slot}, nil
}

func newOTLPExporter(ctx context.Context, endpoint string, insecure bool) (*otlptrace.Exporter, error) {
	hostPort := endpoint
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP endpoint %q: %w", endpoint, err)
		}
		switch u.Scheme {
		case "http":
			insecure = true
		case "https":
		default:
			return nil, fmt.Errorf("telemetry: OTLP endpoint %q: scheme must be http or https", endpoint)
		}
		hostPort = u.Host
	}
	if hostPort == "" {
		return nil, fmt.Errorf("telemetry: OTLP endpoint %q has no host", endpoint)
	}
	opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(hostPort)}
	if insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	// New does not dial eagerly: an unreachable collector costs dropped
	// spans (reported through otel's error handler), not a failed start.
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	return exp, nil
}

// Logger returns the logger built by Setup, carrying service and version.
func (t *Telemetry) Logger() *slog.Logger { return t.logger }

// Shutdown flushes pending spans and stops the providers. It is safe to call
// more than once; later calls return the first call's result.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.shutdownOnce.Do(func() {
		uninstallPromCollector(t.prom)
		t.shutdownErr = errors.Join(t.tp.Shutdown(ctx), t.mp.Shutdown(ctx))
		if t.shutdownErr != nil {
			t.shutdownErr = fmt.Errorf("telemetry: shutdown: %w", t.shutdownErr)
		}
	})
	return t.shutdownErr
}
