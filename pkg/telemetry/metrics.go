package telemetry

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsHandler serves every metric in the default Prometheus registry, which
// includes the OpenTelemetry metrics of the MeterProvider installed by Setup
// (otelconnect RPC durations, otelpgx pool statistics, ...) and the Go runtime
// and process collectors.
func MetricsHandler() http.Handler {
	return promhttp.Handler()
}

// The otel Prometheus exporter registers an "unchecked" collector (it
// describes nothing), and the registry accepts any number of those: a second
// Setup would then export every OpenTelemetry series twice and make each
// scrape fail. So each Setup's collector is caught in a promSlot instead, and
// a single forwarding collector, registered once, serves the latest one.

// promSlot is a prometheus.Registerer that keeps the collector the otel
// exporter registers rather than registering it anywhere.
type promSlot struct {
	mu sync.Mutex
	cs []prometheus.Collector
}

func (s *promSlot) Register(c prometheus.Collector) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cs = append(s.cs, c)
	return nil
}

func (s *promSlot) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = s.Register(c)
	}
}

func (s *promSlot) Unregister(c prometheus.Collector) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, have := range s.cs {
		if have == c {
			s.cs = append(s.cs[:i], s.cs[i+1:]...)
			return true
		}
	}
	return false
}

var (
	forwarderOnce sync.Once
	forwarderErr  error
	activeSlot    atomic.Pointer[promSlot]
)

// forwarder is the one collector on prometheus.DefaultRegisterer that stands
// for the current Setup's OpenTelemetry metrics.
type forwarder struct{}

func (forwarder) Describe(chan<- *prometheus.Desc) {}

func (forwarder) Collect(ch chan<- prometheus.Metric) {
	s := activeSlot.Load()
	if s == nil {
		return
	}
	s.mu.Lock()
	cs := append([]prometheus.Collector(nil), s.cs...)
	s.mu.Unlock()
	for _, c := range cs {
		c.Collect(ch)
	}
}

func installPromCollector(s *promSlot) error {
	forwarderOnce.Do(func() {
		if err := prometheus.DefaultRegisterer.Register(forwarder{}); err != nil {
			forwarderErr = fmt.Errorf("telemetry: register prometheus collector: %w", err)
		}
	})
	if forwarderErr != nil {
		return forwarderErr
	}
	activeSlot.Store(s)
	return nil
}

func uninstallPromCollector(s *promSlot) {
	activeSlot.CompareAndSwap(s, nil)
}
