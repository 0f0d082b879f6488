package notify

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

const instrumentation = "rollcall.dev/pkg/notify"

// tracer is looked up per send rather than once at init, so a provider
// installed later (or replaced, as tests do) is always the one used.
func tracer() trace.Tracer { return otel.GetTracerProvider().Tracer(instrumentation) }

// Metrics live on the default Prometheus registry, served at /metrics.
var (
	metricSent = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "rollcall_notify_sent_total",
		Help: "Messages handed to a notification channel, by channel (email, sms) and outcome (ok, invalid, permanent, transient).",
	}, []string{"channel", "outcome"})
	metricSendSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "rollcall_notify_send_duration_seconds",
		Help:    "Time one send took, from dial to the server's final reply, for messages that passed validation.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	}, []string{"channel"})
)

const (
	channelEmail = "email"
	channelSMS   = "sms"
)
