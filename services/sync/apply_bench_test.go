package syncsvc_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/internal/synctest"
)

const applyEmployees = 2000

type applyBench struct {
	took, floor time.Duration
	err         error
}

var (
	applyOnce sync.Once
	applyRes  applyBench
)

// BenchmarkApply measures a run writing 2,000 employees to the stand-in
// ERP (each a conflict HR wins: a read and an update), with real Postgres
// and JetStream, beside the floor measured in the same run: the same 4,000
// ERP calls made directly at the executor's concurrency (ratio = floor /
// run, 1 meaning the run costs nothing beyond its ERP calls). A real ERP's
// rate limit lowers both alike. Nothing is asserted.
func BenchmarkApply(b *testing.B) {
	first := false
	applyOnce.Do(func() { applyRes, first = runApplyBench(b), true })
	r := applyRes
	if r.err != nil {
		b.Fatal(r.err)
	}
	rate := float64(applyEmployees) / r.took.Seconds()
	b.ReportMetric(rate, "employees/s")
	b.ReportMetric(float64(applyEmployees)/r.floor.Seconds(), "floor_employees/s")
	b.ReportMetric(r.floor.Seconds()/r.took.Seconds(), "ratio")
	if first {
		fmt.Fprintf(os.Stdout, "apply employees=%d took_s=%.2f employees_per_s=%.0f erp_calls_floor_s=%.2f ratio=%.2f\n",
			applyEmployees, r.took.Seconds(), rate, r.floor.Seconds(), r.floor.Seconds()/r.took.Seconds())
	}
}

func runApplyBench(b *testing.B) applyBench {
	ctx := context.Background()
	r := synctest.NewRuns(b, synctest.RunOptions{Threshold: 100, NoExecutor: true, Lease: 30 * time.Second})
	r.Exec.Concurrency, r.Exec.Batch = 8, 64
	tn := r.NewTenant(b)
	conn := r.Connect(b, tn)
	_, emps := pairs(b, r, tn, applyEmployees, applyEmployees)

	// The floor: the run's ERP calls, made directly.
	c, err := synctest.Dialer{BaseURL: r.SimURL, Timeout: 10 * time.Second}.Dial(tn.APIKey)
	if err != nil {
		return applyBench{err: err}
	}
	start := time.Now()
	work := make(chan erp.Employee)
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	for range 8 {
		wg.Go(func() {
			for e := range work {
				got, err := c.Get(ctx, e.ID)
				if err == nil {
					_, err = c.Update(ctx, e.ID, got, []erp.Field{erp.FieldLastname})
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		})
	}
	for _, e := range emps {
		work <- e
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return applyBench{err: firstErr}
	}
	floor := time.Since(start)

	p := previewFirst(b, r, tn, conn.GetConnectionId())
	start = time.Now()
	run := applyFirst(b, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId()})
	if err := r.Exec.Start(ctx); err != nil {
		return applyBench{err: err}
	}
	defer func() { _ = r.Exec.Stop(context.Background()) }()
	got := r.WaitRun(b, tn, run.GetRunId(), synctest.Finished).GetRun()
	took := time.Since(start)
	if got.GetCounts().GetUpdatedInErp() != applyEmployees {
		return applyBench{err: fmt.Errorf("run: %v", got.GetCounts())}
	}
	return applyBench{took: took, floor: floor}
}
