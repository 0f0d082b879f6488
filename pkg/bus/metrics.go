package bus

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics live on the default Prometheus registry, served at /metrics.
var (
	metricPublished = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "rollcall_events_published_total",
		Help: "Events published to JetStream, by stream and outcome.",
	}, []string{"stream", "outcome"})
	metricConsumed = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "rollcall_events_consumed_total",
		Help: "Messages handled by a consumer, by outcome (ack, retry, deadletter).",
	}, []string{"stream", "consumer", "outcome"})
	metricDeadLettered = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "rollcall_events_deadlettered_total",
		Help: "Messages moved to the dead-letter stream.",
	}, []string{"stream", "consumer"})
	metricHandlerSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "rollcall_event_handler_duration_seconds",
		Help:    "Time a consumer's handler took per message.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"stream", "consumer"})
	metricConsumerPending = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rollcall_consumer_pending_messages",
		Help: "Messages in the stream not yet delivered to the consumer.",
	}, []string{"stream", "consumer"})
)
