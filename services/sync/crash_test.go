package syncsvc_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/notify"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/services/sync/adapters/postgres"
	"rollcall.dev/services/sync/adapters/report"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/erpsim"
	"rollcall.dev/services/sync/hr"
	"rollcall.dev/services/sync/hr/hrapi"
	"rollcall.dev/services/sync/internal/synctest"
	"rollcall.dev/services/sync/keyring"
)

// TestCrashHelperProcess is the executor of TestACrashedRunResumesWithoutDoingAnythingTwice,
// run in a process of its own so the test can kill it outright (SIGKILL:
// no deferred function, no recording of what it was doing).
func TestCrashHelperProcess(t *testing.T) {
	if os.Getenv("SYNC_CRASH_HELPER") != "1" {
		t.Skip("run by TestACrashedRunResumesWithoutDoingAnythingTwice")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("SYNC_CRASH_DB"))
	require.NoError(t, err)
	keys, err := keyring.Parse(synctest.TestKeys)
	require.NoError(t, err)
	store := postgres.New(pool, "/rollcall/sync")
	store.Keys = keys
	hrc, err := hrapi.New(hrapi.Config{BaseURL: os.Getenv("SYNC_CRASH_HR"), Token: synctest.HRToken})
	require.NoError(t, err)
	port, _ := strconv.Atoi(os.Getenv("SYNC_CRASH_SMTP_PORT"))
	mailer, err := notify.NewSMTPMailer(notify.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: notify.TLSNone, From: "Rollcall <no-reply@rollcall.test>"})
	require.NoError(t, err)
	x := &app.Executor{
		Runs: store, Connections: store, ERP: synctest.Dialer{BaseURL: os.Getenv("SYNC_CRASH_ERP"), Timeout: 5 * time.Second},
		HR: hrc, Reporter: &report.Mailer{Mail: mailer}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Lease: time.Second, Concurrency: 4, Batch: 16, Poll: 20 * time.Millisecond,
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, err := x.RunOnce(ctx); err != nil {
			t.Log(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A run whose executor is killed mid-way (SIGKILL, with writes to the ERP
// and HR in flight and outcomes not yet recorded) is taken over by another
// executor once its lease runs out, and finishes with every employee
// written exactly once: no second create in either system, no second
// update, one event per employee, one report, one SyncRunCompleted.
func TestACrashedRunResumesWithoutDoingAnythingTwice(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a process")
	}
	ctx := context.Background()
	var writes atomic.Int64
	r := synctest.NewRuns(t, synctest.RunOptions{Threshold: 100, NoExecutor: true, Lease: time.Second,
		Options: synctest.Options{OnWrite: func(erp.Employee) { writes.Add(1) }}})
	tn := r.NewTenant(t)
	conn := r.Connect(t, tn)

	const hrOnly, erpOnly, conflicted = 60, 30, 30
	u := synctest.Unique()
	var users []hr.User
	for i := range hrOnly + conflicted {
		users = append(users, hrUser(fmt.Sprintf("c%d.%s@example.com", i, u), "Crash", fmt.Sprintf("Test%d", i)))
	}
	stored, err := r.HR.Put(tn.ID, users...)
	require.NoError(t, err)
	acct := r.Sim.Account(tn.Account)
	for i := range conflicted {
		h := stored[hrOnly+i]
		_, err := acct.Put(erp.Employee{Email: h.Email, Firstname: h.GivenName, Lastname: h.FamilyName + "-old"})
		require.NoError(t, err)
	}
	for i := range erpOnly {
		_, err := acct.Put(erp.Employee{Email: fmt.Sprintf("e%d.%s@example.com", i, u), Firstname: "Erp", Lastname: fmt.Sprintf("Only%d", i)})
		require.NoError(t, err)
	}
	p := previewFirst(t, r, tn, conn.GetConnectionId())
	run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId(),
		AddMissingToErp: true, AddMissingToHr: true})
	total := int(run.GetTotal())
	require.Equal(t, hrOnly+erpOnly+conflicted, total)

	// Slow enough that the kill lands mid-way.
	r.Sim.SetFaults(erpsim.Faults{Latency: 15 * time.Millisecond})
	erpBefore, hrBefore := r.Sim.Stats(), r.HR.Stats()
	_, smtpPort := r.Mail.SMTPHostPort()
	done := func() int {
		var n int
		require.NoError(t, r.Pool.QueryRow(ctx, `SELECT done FROM sync_runs WHERE id = $1`, run.GetRunId()).Scan(&n))
		return n
	}
	// crash starts an executor in a process of its own and kills it once
	// landed() shows writes the executor has made but not recorded.
	crash := func(name string, landed func(recorded int) bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SYNC_CRASH_HELPER=1", "SYNC_CRASH_DB="+r.DBURL, "SYNC_CRASH_ERP="+r.SimURL,
			"SYNC_CRASH_HR="+r.HRURL, "SYNC_CRASH_SMTP_PORT="+strconv.Itoa(smtpPort))
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		require.Eventually(t, func() bool { return landed(done()) }, wait, time.Millisecond, "%s: the helper works", name)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		at := done()
		require.Less(t, at, total, "%s: killed mid-way", name)
		t.Logf("%s: killed with %d of %d employees recorded; ERP writes landed %d, HR creates %d", name, at, total,
			writes.Load(), r.HR.Stats().Creates-hrBefore.Creates)
	}
	// Employees come in the preview's order: the HR-only and the
	// conflicts (one ERP write each), then the ERP-only (one HR create each).
	crash("while writing to the ERP", func(recorded int) bool {
		return recorded >= 16 && writes.Load() >= int64(recorded+3)
	})
	crash("while creating in HR", func(recorded int) bool {
		return recorded >= hrOnly+conflicted && r.HR.Stats().Creates-hrBefore.Creates >= recorded-(hrOnly+conflicted)+2
	})

	// Another executor takes the run over once the lease has run out.
	r.Sim.SetFaults(erpsim.Faults{})
	require.NoError(t, r.Exec.Start(ctx))
	t.Cleanup(func() { _ = r.Exec.Stop(context.Background()) })
	final := r.WaitRun(t, tn, run.GetRunId(), synctest.Finished)
	got := final.GetRun()
	require.Equal(t, syncv1.SyncRunStatus_SYNC_RUN_STATUS_SUCCEEDED, got.GetStatus())
	require.EqualValues(t, total, got.GetDone())
	require.EqualValues(t, hrOnly, got.GetCounts().GetCreatedInErp())
	require.EqualValues(t, erpOnly, got.GetCounts().GetCreatedInHr())
	require.EqualValues(t, conflicted, got.GetCounts().GetUpdatedInErp())
	require.Zero(t, got.GetCounts().GetFailed())

	erpAfter, hrAfter := r.Sim.Stats(), r.HR.Stats()
	require.Equal(t, hrOnly, erpAfter.Creates-erpBefore.Creates, "each HR-only employee created once in the ERP")
	require.Equal(t, conflicted, erpAfter.Updates-erpBefore.Updates, "each conflict written once")
	require.Zero(t, erpAfter.Conflicts-erpBefore.Conflicts, "no create was even tried twice")
	require.Equal(t, erpOnly, hrAfter.Creates-hrBefore.Creates, "each ERP-only employee created once in HR")
	require.Equal(t, hrOnly+conflicted+erpOnly, acct.Len())
	require.Len(t, r.HR.Users(tn.ID), hrOnly+conflicted+erpOnly)
	var links int
	require.NoError(t, r.Pool.QueryRow(ctx, `SELECT count(*) FROM employees WHERE connection_id = $1 AND erp_employee_id IS NOT NULL`, conn.GetConnectionId()).Scan(&links))
	require.Equal(t, total, links)

	// One event per employee written, one completion, one report.
	stream, err := r.NATS.JS.Stream(ctx, "SYNC")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := stream.Info(ctx, jetstream.WithSubjectFilter("sync.v1."+tn.ID+".>"))
		if err != nil {
			return false
		}
		synced, completed := 0, 0
		for subj, n := range info.State.Subjects {
			switch {
			case subj == postgres.RunSubject(tn.ID, run.GetRunId(), "completed"):
				completed += int(n)
			case len(subj) > 7 && subj[len(subj)-7:] == ".synced":
				synced += int(n)
			}
		}
		return synced == total && completed == 1
	}, wait, 20*time.Millisecond)
	mailFor(t, r, run.GetRunId())
	require.Equal(t, 1, mailsOf(r, run.GetRunId()))
}
