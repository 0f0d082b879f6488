package erp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

var (
	metricCallSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "rollcall_erp_call_duration_seconds",
		Help:    "Latency of calls to an ERP, by system, operation and outcome (ok or the error kind).",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	}, []string{"system", "op", "outcome"})
	metricCallErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "rollcall_erp_call_errors_total",
		Help: "Failed calls to an ERP, by system, operation and error kind.",
	}, []string{"system", "op", "kind"})
)

// Kind names the error kind of err for metrics and logs ("ok" for nil).
func Kind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, ErrValidation):
		return "validation"
	case errors.Is(err, ErrUnauthorized):
		return "unauthorized"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "other"
}

// Instrument wraps c so every call is a client span and is counted in
// rollcall_erp_call_duration_seconds and rollcall_erp_call_errors_total.
func Instrument(c Connector, system string) Connector { return instrumented{c: c, system: system} }

type instrumented struct {
	c      Connector
	system string
}

func (i instrumented) do(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	ctx, span := otel.GetTracerProvider().Tracer("rollcall.dev/services/sync/erp").Start(ctx, "erp "+op,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("erp.system", i.system), attribute.String("erp.operation", op)))
	defer span.End()
	start := time.Now()
	err := fn(ctx)
	kind := Kind(err)
	metricCallSeconds.WithLabelValues(i.system, op, kind).Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, ErrNotFound) {
		metricCallErrors.WithLabelValues(i.system, op, kind).Inc()
		span.RecordError(err)
		span.SetStatus(codes.Error, kind)
	}
	var e *Error
	if errors.As(err, &e) && e.Status != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", e.Status))
	}
	return err
}

func (i instrumented) Get(ctx context.Context, id string) (out Employee, err error) {
	err = i.do(ctx, "get", func(ctx context.Context) error { out, err = i.c.Get(ctx, id); return err })
	return out, err
}

func (i instrumented) FindByEmail(ctx context.Context, email string) (out Employee, err error) {
	err = i.do(ctx, "find", func(ctx context.Context) error { out, err = i.c.FindByEmail(ctx, email); return err })
	return out, err
}

func (i instrumented) Create(ctx context.Context, e Employee) (out Employee, err error) {
	err = i.do(ctx, "create", func(ctx context.Context) error { out, err = i.c.Create(ctx, e); return err })
	return out, err
}

func (i instrumented) Update(ctx context.Context, id string, e Employee, fields []Field) (out Employee, err error) {
	err = i.do(ctx, "update", func(ctx context.Context) error { out, err = i.c.Update(ctx, id, e, fields); return err })
	return out, err
}

func (i instrumented) SetEndDate(ctx context.Context, id, enddate, reason string) error {
	return i.do(ctx, "employment", func(ctx context.Context) error { return i.c.SetEndDate(ctx, id, enddate, reason) })
}

func (i instrumented) List(ctx context.Context) (out []Employee, err error) {
	err = i.do(ctx, "list", func(ctx context.Context) error { out, err = i.c.List(ctx); return err })
	return out, err
}

// Authenticate checks the API key when the connector can (KeyChecker).
func (i instrumented) Authenticate(ctx context.Context) error {
	kc, ok := i.c.(KeyChecker)
	if !ok {
		return fmt.Errorf("erp: the %s connector cannot check an API key by itself", i.system)
	}
	return i.do(ctx, "auth", kc.Authenticate)
}
