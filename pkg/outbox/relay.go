package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/inbox"
	"rollcall.dev/pkg/pgdb"
)

var (
	metricRelayed = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "rollcall_outbox_relayed_total",
		Help: "Outbox rows published and marked, by service.",
	}, []string{"service"})
	metricRelayErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "rollcall_outbox_relay_errors_total",
		Help: "Relay batches that failed, by service.",
	}, []string{"service"})
	metricLag = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rollcall_outbox_lag_seconds",
		Help: "Age of the oldest unpublished outbox row (0 when empty), by service.",
	}, []string{"service"})
)

// BatchPublisher is what the relay needs from the bus (bus.Publisher is one):
// publish every event, and say per event whether the stream acknowledged it.
type BatchPublisher interface {
	PublishBatch(ctx context.Context, events []bus.Event, spanCtx func(i int) context.Context) []error
}

// RelayConfig tunes a Relay.
type RelayConfig struct {
	Service      string        // label for metrics and logs
	BatchSize    int           // rows per batch (default 256)
	PollInterval time.Duration // idle poll (default 200ms); Kick wakes it early
	Retention    time.Duration // published rows are deleted after this (default 24h)
	// InboxRetention is how long processed event ids are kept in the same
	// database's inbox (default 30 days); the relay prunes them too.
	InboxRetention time.Duration
	// BatchTimeout bounds one batch: reading, publishing every wave and
	// marking (default 30s), so a broker that stops answering cannot keep
	// the batch's transaction, lock and connection for ever.
	BatchTimeout time.Duration
}

// Relay publishes committed outbox rows. Only one relay per database works at
// a time (a transaction-scoped advisory lock per batch, keyed on the outbox
// table, and advisory locks are per database), so replicas can all run one
// safely; the others wait for their turn. Each service owns its database (or
// schema and search_path): two services must never share one outbox table.
type Relay struct {
	pool *pgxpool.Pool
	pub  BatchPublisher
	log  *slog.Logger
	cfg  RelayConfig

	kick chan struct{}

	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
}

// NewRelay returns a Relay; call Start to run it.
func NewRelay(pool *pgxpool.Pool, pub BatchPublisher, log *slog.Logger, cfg RelayConfig) *Relay {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 256
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.InboxRetention <= 0 {
		cfg.InboxRetention = 30 * 24 * time.Hour
	}
	if cfg.BatchTimeout <= 0 {
		cfg.BatchTimeout = 30 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &Relay{pool: pool, pub: pub, log: log, cfg: cfg, kick: make(chan struct{}, 1)}
}

// Kick wakes the relay now (call it after committing a transaction that
// appended events, to cut latency below the poll interval). It never blocks.
func (r *Relay) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Start runs the relay loop in the background until Stop. A relay runs once:
// Start after Start or after Stop is an error.
func (r *Relay) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done != nil || r.stopped {
		return errors.New("outbox: relay already started or stopped")
	}
	ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.done = make(chan struct{})
	go r.loop(ctx)
	return nil
}

// Stop ends the loop and waits for the batch in flight (its rows are either
// marked or will be republished next time). Safe to call twice.
func (r *Relay) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || r.done == nil {
		r.stopped = true
		return
	}
	r.stopped = true
	r.cancel()
	<-r.done
}

func (r *Relay) loop(ctx context.Context) {
	defer close(r.done)
	cleanup := time.NewTicker(time.Minute)
	defer cleanup.Stop()
	failures := 0
	for {
		select {
		case <-cleanup.C: // checked every round, so a busy relay still prunes
			r.cleanup(ctx)
		default:
		}
		n, err := r.RelayOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			metricRelayErrors.WithLabelValues(r.cfg.Service).Inc()
			r.log.WarnContext(ctx, "outbox relay batch failed", "service", r.cfg.Service, "error", err, "failures", failures)
		default:
			failures = 0
		}
		if n > 0 && (n == r.cfg.BatchSize || err != nil) {
			continue // more waiting, or others flow past a failing aggregate
		}
		r.reportLag(ctx)
		wait := r.cfg.PollInterval
		if failures > 0 {
			wait = min(r.cfg.PollInterval<<min(failures, 6), 10*time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-time.After(wait):
		}
	}
}

type outboxRow struct {
	id                                                  int64
	eventID, aggregate, subject, typ, source, ceSubject string
	occurredAt                                          time.Time
	headers                                             []byte
	payload                                             []byte
}

// RelayOnce publishes one batch of unpublished rows and marks those the
// broker acknowledged. It returns how many it marked, and the first publish
// error if any row failed. When another relay holds the lock it returns 0, nil.
//
// The batch goes out in waves holding at most one event per aggregate: the
// k-th event of an aggregate in the batch goes in wave k. A wave is sent
// asynchronously and fully acknowledged before the next, and an aggregate
// whose event failed sends nothing more this round. So a later event of an
// aggregate is never stored before an earlier one, even when the broker fails
// part-way, while other aggregates keep flowing past a failing one.
//
// Stopping (ctx ending) stops further waves but not the marking: rows the
// broker acknowledged are marked on a context of their own, so a restart
// does not republish them.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	var (
		marked   int
		firstErr error
	)
	// The database work outlives ctx (to record what was published); the
	// publishing stops with ctx or at the batch deadline.
	dbCtx, cancelDB := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.BatchTimeout+10*time.Second)
	defer cancelDB()
	pubCtx, cancelPub := context.WithTimeout(ctx, r.cfg.BatchTimeout)
	defer cancelPub()
	err := pgdb.InTx(dbCtx, r.pool, func(tx pgx.Tx) error {
		ctx := dbCtx
		var got bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1, 'rollcall_outbox'::regclass::oid::int)`, relayLockClass).Scan(&got); err != nil {
			return fmt.Errorf("outbox: relay lock: %w", err)
		}
		if !got {
			return nil
		}
		// Wave-major order: every pending aggregate's first event, then every
		// second event, and so on. Within an aggregate that is id order, and
		// no aggregate that cannot publish (and has piled up) can fill the
		// batch and starve the others.
		rows, err := tx.Query(ctx, `
SELECT id, event_id, aggregate, subject, event_type, source, ce_subject, occurred_at, headers, payload
FROM (
    SELECT *, row_number() OVER (PARTITION BY aggregate ORDER BY id) AS nth
    FROM rollcall_outbox WHERE published_at IS NULL
) pending
ORDER BY nth, id LIMIT $1`, r.cfg.BatchSize)
		if err != nil {
			return fmt.Errorf("outbox: read batch: %w", err)
		}
		batch, err := pgx.CollectRows(rows, func(cr pgx.CollectableRow) (outboxRow, error) {
			var x outboxRow
			err := cr.Scan(&x.id, &x.eventID, &x.aggregate, &x.subject, &x.typ, &x.source, &x.ceSubject, &x.occurredAt, &x.headers, &x.payload)
			return x, err
		})
		if err != nil {
			return fmt.Errorf("outbox: read batch: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}

		var waves [][]int // indexes into batch
		seen := map[string]int{}
		for i, x := range batch {
			w := seen[x.aggregate]
			seen[x.aggregate] = w + 1
			if w == len(waves) {
				waves = append(waves, nil)
			}
			waves[w] = append(waves[w], i)
		}

		var acked []int64
		blocked := map[string]bool{}
		for _, wave := range waves {
			var idx []int
			for _, i := range wave {
				if !blocked[batch[i].aggregate] {
					idx = append(idx, i)
				}
			}
			if len(idx) == 0 || pubCtx.Err() != nil {
				break
			}
			events, parents := r.events(pubCtx, batch, idx)
			errs := r.pub.PublishBatch(pubCtx, events, func(j int) context.Context { return parents[j] })
			for j, i := range idx {
				if errs[j] == nil {
					acked = append(acked, batch[i].id)
					continue
				}
				blocked[batch[i].aggregate] = true
				if firstErr == nil {
					firstErr = errs[j]
				}
				if _, err := tx.Exec(ctx, `UPDATE rollcall_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, batch[i].id, errs[j].Error()); err != nil {
					return fmt.Errorf("outbox: record publish error: %w", err)
				}
			}
		}
		if len(acked) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE rollcall_outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1)`, acked); err != nil {
				return fmt.Errorf("outbox: mark published: %w", err)
			}
			marked = len(acked)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	metricRelayed.WithLabelValues(r.cfg.Service).Add(float64(marked))
	return marked, firstErr
}

// events builds the bus events for batch[idx...], each with the trace context
// stored at Append as its parent.
func (r *Relay) events(ctx context.Context, batch []outboxRow, idx []int) ([]bus.Event, []context.Context) {
	events := make([]bus.Event, len(idx))
	parents := make([]context.Context, len(idx))
	for j, i := range idx {
		x := batch[i]
		events[j] = bus.Event{ID: x.eventID, Type: x.typ, Source: x.source, Subject: x.subject, Topic: x.ceSubject, Time: x.occurredAt, Data: x.payload}
		carrier := propagation.MapCarrier{}
		if err := json.Unmarshal(x.headers, &carrier); err != nil {
			r.log.WarnContext(ctx, "outbox row has unreadable trace headers; publishing without them", "event_id", x.eventID, "error", err)
		}
		parents[j] = otel.GetTextMapPropagator().Extract(ctx, carrier)
		if len(carrier) > 0 {
			h := nats.Header{}
			for k, v := range carrier {
				bus.HeaderCarrier(h).Set(k, v)
			}
			events[j].Header = h
		}
	}
	return events, parents
}

// relayLockClass is the first key of the relay's advisory lock (the second
// is the outbox table's oid): "rollcall" in ASCII.
const relayLockClass = 0x726f6c6c

// cleanup deletes published rows past Retention and inbox ids past
// InboxRetention, in chunks until none are left, so it keeps up with any
// publish rate.
func (r *Relay) cleanup(ctx context.Context) {
	if _, err := r.deletePublished(ctx); err != nil && ctx.Err() == nil {
		r.log.WarnContext(ctx, "outbox cleanup failed", "service", r.cfg.Service, "error", err)
	}
	if _, err := inbox.Prune(ctx, r.pool, r.cfg.InboxRetention); err != nil && ctx.Err() == nil {
		r.log.WarnContext(ctx, "inbox prune failed", "service", r.cfg.Service, "error", err)
	}
}

const cleanupChunk = 10000

func (r *Relay) deletePublished(ctx context.Context) (int64, error) {
	var total int64
	for {
		tag, err := r.pool.Exec(ctx, `
DELETE FROM rollcall_outbox WHERE id IN (
    SELECT id FROM rollcall_outbox WHERE published_at < now() - make_interval(secs => $1) LIMIT $2)`,
			r.cfg.Retention.Seconds(), cleanupChunk)
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < cleanupChunk {
			return total, nil
		}
	}
}

// reportLag sets the lag gauge from the table itself, so every replica
// reports the truth whether or not it holds the relay lock.
func (r *Relay) reportLag(ctx context.Context) {
	var lag float64
	err := r.pool.QueryRow(ctx, `
SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
FROM (SELECT created_at FROM rollcall_outbox WHERE published_at IS NULL ORDER BY id LIMIT 1) oldest`).Scan(&lag)
	if err == nil {
		metricLag.WithLabelValues(r.cfg.Service).Set(lag)
	}
}

// Pending counts unpublished rows (for readiness and tests).
func Pending(ctx context.Context, q pgdb.Querier) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT count(*) FROM rollcall_outbox WHERE published_at IS NULL`).Scan(&n)
	return n, err
}
