package app_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"rollcall.dev/services/invitation/app"
	"rollcall.dev/services/invitation/domain"
)

// BenchmarkInvitations measures, in one run against the same Postgres:
//   - baseline: committed single-row INSERT transactions (the floor any
//     create must pay), 8 concurrent writers;
//   - create: the whole Create use case (checks, domain, row + outbox event
//     in one transaction, delivery to a no-op notifier), 8 concurrent admins,
//     with p50 and p99 latency;
//   - accept: Accept under the same concurrency (row lock, code check, state
//     and outbox), with p50 and p99 latency.
//
// Any error fails the benchmark (under concurrent load there must be none).
//
// Compare create/baseline across machines; the absolute rates depend on the
// disk and CPU.
func BenchmarkInvitations(b *testing.B) {
	const workers, perIter = 8, 400
	tb := setup(b)
	ctx := context.Background()
	if _, err := tb.pool.Exec(ctx, `CREATE TABLE bench_baseline (id uuid PRIMARY KEY, body jsonb NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	var baseDur, createDur, acceptDur time.Duration
	var latencies, createLat []time.Duration
	var latMu sync.Mutex
	iter := 0
	for b.Loop() {
		iter++
		run := func(fn func(i int) error) time.Duration {
			var next atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= perIter {
							return
						}
						if err := fn(i); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			return time.Since(start)
		}
		baseDur += run(func(int) error {
			_, err := tb.pool.Exec(ctx, `INSERT INTO bench_baseline (id, body) VALUES ($1, '{"level":2,"areas":["support"]}')`, uuid.NewString())
			return err
		})
		invs := make([]*domain.Invitation, perIter)
		createDur += run(func(i int) error {
			t0 := time.Now()
			inv, err := tb.svc.Create(ctx, tb.admin, tb.member())
			latMu.Lock()
			createLat = append(createLat, time.Since(t0))
			latMu.Unlock()
			invs[i] = inv
			return err
		})
		sent := map[string]sent{}
		tb.note.mu.Lock()
		for _, s := range tb.note.log {
			sent[s.inv] = s
		}
		tb.note.log = nil
		tb.note.mu.Unlock()
		acceptDur += run(func(i int) error {
			s := sent[invs[i].ID]
			t0 := time.Now()
			_, err := tb.svc.Accept(ctx, app.AcceptForm{Token: s.tok, Code: s.code, Method: domain.LoginBankID, ExternalSubject: "bankid:bench"})
			latMu.Lock()
			latencies = append(latencies, time.Since(t0))
			latMu.Unlock()
			return err
		})
	}
	n := float64(iter * perIter)
	base := n / baseDur.Seconds()
	create := n / createDur.Seconds()
	slices.Sort(latencies)
	slices.Sort(createLat)
	pct := func(l []time.Duration, q float64) float64 {
		return float64(l[int(q*float64(len(l)-1))].Microseconds()) / 1000
	}
	p := func(q float64) float64 { return pct(latencies, q) }
	b.ReportMetric(base, "baseline-insert/s")
	b.ReportMetric(create, "created/s")
	b.ReportMetric(create/base, "create/baseline")
	b.ReportMetric(pct(createLat, 0.5), "create-p50-ms")
	b.ReportMetric(pct(createLat, 0.99), "create-p99-ms")
	b.ReportMetric(n/acceptDur.Seconds(), "accepted/s")
	b.ReportMetric(p(0.5), "accept-p50-ms")
	b.ReportMetric(p(0.99), "accept-p99-ms")
}
