package syncsvc_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/erpsim"
	"rollcall.dev/services/sync/hr"
	"rollcall.dev/services/sync/hr/hrapi"
	"rollcall.dev/services/sync/hrsim"
	"rollcall.dev/services/sync/internal/synctest"
)

// benchEmployees is the size of each side of BenchmarkPreview.
const benchEmployees = 100_000

// TestBenchStandInsHelper serves the stand-in ERP and HR system for
// BenchmarkPreview in a process of its own, so the benchmark's memory and
// allocations are the sync service's alone. Each side holds n employees:
// 95% on both sides (one in ten with a conflicting family name, one in ten
// with the city only in the ERP), 5% only in HR, 5% only in the ERP.
func TestBenchStandInsHelper(t *testing.T) {
	if os.Getenv("SYNC_BENCH_HELPER") == "" {
		t.Skip("run by BenchmarkPreview")
	}
	n, _ := strconv.Atoi(os.Getenv("SYNC_BENCH_HELPER"))
	tenant := os.Getenv("SYNC_BENCH_TENANT")
	esim := erpsim.New(erpsim.Options{APIKeys: []string{"bench-erp-key-0123456789"}})
	hsim := hrsim.New(hrsim.Options{Tokens: []string{synctest.HRToken}})
	matched := n * 95 / 100
	users := make([]hr.User, 0, n)
	acct := esim.Account(erpsim.DefaultAccount)
	for i := range n {
		email := fmt.Sprintf("employee%06d@bench.example", i)
		u := hr.User{
			Email: email, GivenName: "Given" + strconv.Itoa(i), FamilyName: "Family" + strconv.Itoa(i),
			Phone: fmt.Sprintf("+479%07d", i), EmploymentStartDate: "2020-01-15",
			Address:         &hr.Address{Street: "Storgata " + strconv.Itoa(i%200), PostalCode: "0155", City: "Oslo", CountryCode: "NO"},
			Identifications: []hr.Identification{{ID: fmt.Sprintf("%011d", i), CountryCode: "NO", Type: "national_id"}},
		}
		users = append(users, u)
		if i >= matched {
			continue
		}
		e := erp.Employee{Email: email, Firstname: u.GivenName, Lastname: u.FamilyName, Telefon: u.Phone, Startdate: "2020-01-15",
			Postaddress: u.Address.Street, Zipcode: "0155", City: "Oslo", CountryCode: "NO",
			InternationalID: &erp.InternationalID{ID: u.Identifications[0].ID, CountryCode: "NO", Type: "national_id"}}
		switch i % 10 {
		case 0:
			e.Lastname += "-ERP"
		case 1:
			u.Address.City = ""
			users[i] = u
		}
		if _, err := acct.Put(e); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n - matched {
		if _, err := acct.Put(erp.Employee{Email: fmt.Sprintf("erponly%06d@bench.example", i), Firstname: "Erp", Lastname: "Only"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := hsim.Put(tenant, users...); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/erp/", http.StripPrefix("/erp", esim))
	mux.Handle("/hr/", http.StripPrefix("/hr", hsim))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("STANDINS http://%s\n", ln.Addr())
	_ = (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
}

type previewBench struct {
	took, baseline   time.Duration
	peakHeap         uint64 // above the heap before the preview
	peakRSS          uint64 // the process's, during the preview (VmHWM after a reset)
	allocBytes       uint64
	allocs           uint64
	items, conflicts int
	phases           string        // the use case's own log line: read_hr, read_erp, compare, save
	cpu              time.Duration // this process's CPU time during the preview (user + system)
	err              error
}

var (
	previewOnce sync.Once
	previewRes  previewBench
)

// BenchmarkPreview measures the first synchronisation's preview of 100,000
// employees on each side (issue 7: at most 3 s and 512 MiB): reading both
// sides over HTTP from the stand-ins (in a process of their own), the
// comparison, and keeping it in Postgres — the whole use case. Beside it,
// the same run measures the floor: fetching the same pages without
// decoding them (ratio = preview / that baseline). Memory: the Go heap's
// peak above where it started, the process's peak RSS, and the bytes and
// objects allocated. Nothing is asserted.
func BenchmarkPreview(b *testing.B) {
	first := false
	previewOnce.Do(func() { previewRes, first = runPreviewBench(b), true })
	r := previewRes
	if r.err != nil {
		b.Fatal(r.err)
	}
	b.ReportMetric(r.took.Seconds(), "s/preview")
	b.ReportMetric(r.baseline.Seconds(), "s/raw_read")
	b.ReportMetric(r.cpu.Seconds(), "cpu_s/preview")
	b.ReportMetric(r.took.Seconds()/r.baseline.Seconds(), "ratio")
	b.ReportMetric(float64(r.peakHeap)/(1<<20), "peak_heap_MiB")
	b.ReportMetric(float64(r.peakRSS)/(1<<20), "peak_rss_MiB")
	b.ReportMetric(float64(r.allocBytes)/(1<<20), "alloc_MiB")
	b.ReportMetric(float64(r.allocs), "allocs")
	if first {
		fmt.Fprintf(os.Stdout, "preview employees_per_side=%d items=%d conflicts=%d took_s=%.2f cpu_s=%.2f raw_read_s=%.2f ratio=%.2f peak_heap_mib=%.0f peak_rss_mib=%.0f alloc_mib=%.0f allocs=%d\n",
			benchEmployees, r.items, r.conflicts, r.took.Seconds(), r.cpu.Seconds(), r.baseline.Seconds(), r.took.Seconds()/r.baseline.Seconds(),
			float64(r.peakHeap)/(1<<20), float64(r.peakRSS)/(1<<20), float64(r.allocBytes)/(1<<20), r.allocs)
		fmt.Fprintf(os.Stdout, "preview phases: %s\n", r.phases)
	}
}

func runPreviewBench(b *testing.B) (res previewBench) {
	ctx := context.Background()
	r := synctest.NewRuns(b, synctest.RunOptions{NoExecutor: true})
	tn := r.NewTenant(b)
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchStandInsHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SYNC_BENCH_HELPER="+strconv.Itoa(benchEmployees), "SYNC_BENCH_TENANT="+tn.ID)
	out, err := cmd.StdoutPipe()
	require.NoError(b, err)
	require.NoError(b, cmd.Start())
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var base string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "STANDINS "); ok {
			base = u
			break
		}
	}
	require.NotEmpty(b, base, "the stand-ins did not start")
	go func() { _, _ = io.Copy(io.Discard, out) }()

	// The service reads the stand-ins of the helper process.
	hrc, err := hrapi.New(hrapi.Config{BaseURL: base + "/hr", Token: synctest.HRToken, Timeout: 30 * time.Second})
	require.NoError(b, err)
	r.Syncs.HR = hrc
	r.Syncs.ERP = synctest.Dialer{BaseURL: base + "/erp", Timeout: 30 * time.Second}
	tn.APIKey = "bench-erp-key-0123456789"
	conn := r.Connect(b, tn)
	actor := app.Actor{TenantID: tn.ID, UserID: r.Identity.UserOf(tn.Token), Email: tn.Email, Role: app.RoleMainAdministrator}
	phases := &logBuffer{}
	r.Syncs.Log = slog.New(slog.NewTextHandler(phases, nil))

	// Warm up connections and caches once (not measured).
	if _, err := r.Syncs.Preview(ctx, actor, tn.ID, conn.GetConnectionId(), app.KindFirstSync); err != nil {
		return previewBench{err: err}
	}
	_, _ = r.Pool.Exec(ctx, `DELETE FROM sync_previews`)

	// The baseline: the same pages, read and thrown away.
	start := time.Now()
	if err := rawRead(ctx, base, tn.ID); err != nil {
		return previewBench{err: err}
	}
	res.baseline = time.Since(start)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	resetPeakRSS()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	cpu0 := cpuTime()
	start = time.Now()
	p, err := r.Syncs.Preview(ctx, actor, tn.ID, conn.GetConnectionId(), app.KindFirstSync)
	res.took = time.Since(start)
	res.cpu = cpuTime() - cpu0
	close(stop)
	<-sampled
	if err != nil {
		return previewBench{err: err}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	res.peakRSS = peakRSS()
	if pk := peak.Load(); pk > before.HeapAlloc {
		res.peakHeap = pk - before.HeapAlloc
	}
	res.allocBytes, res.allocs = after.TotalAlloc-before.TotalAlloc, after.Mallocs-before.Mallocs
	res.items, res.conflicts = p.Items, p.Totals.Conflicts
	lines := strings.Split(strings.TrimSpace(phases.String()), "\n")
	res.phases = lines[len(lines)-1]
	if p.Totals.HR != benchEmployees || p.Totals.ERP != benchEmployees {
		res.err = fmt.Errorf("preview saw %d HR and %d ERP employees, want %d each", p.Totals.HR, p.Totals.ERP, benchEmployees)
	}
	return res
}

// rawRead fetches every page both readers fetch, without decoding.
func rawRead(ctx context.Context, base, tenant string) error {
	get := func(url string, header http.Header) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		req.Header = header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	var wg sync.WaitGroup
	var errs [2]error
	wg.Go(func() {
		h := http.Header{"Authorization": {"Bearer " + synctest.HRToken}}
		cursor := ""
		for {
			body, err := get(base+"/hr/tenants/"+tenant+"/users?limit=2000&cursor="+cursor, h)
			if err != nil {
				errs[0] = err
				return
			}
			i := strings.LastIndex(string(body[max(0, len(body)-40):]), `"nextCursor":"`)
			if i < 0 {
				return
			}
			rest := string(body[max(0, len(body)-40)+i+len(`"nextCursor":"`):])
			cursor = rest[:strings.IndexByte(rest, '"')]
			if cursor == "" {
				return
			}
		}
	})
	wg.Go(func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/erp/auth", strings.NewReader(`{"apiKey":"bench-erp-key-0123456789"}`))
		if err != nil {
			errs[1] = err
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			errs[1] = err
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tok := strings.SplitN(strings.SplitN(string(body), `"access_token":"`, 2)[1], `"`, 2)[0]
		h := http.Header{"Authorization": {"Bearer " + tok}}
		var next atomic.Int64
		var pw sync.WaitGroup
		for range 4 {
			pw.Go(func() {
				for {
					p := next.Add(1) - 1
					body, err := get(fmt.Sprintf("%s/erp/employee/v2?page=%d&pageSize=1000", base, p), h)
					if err != nil {
						errs[1] = err
						return
					}
					if len(body) < 10 {
						return
					}
				}
			})
		}
		pw.Wait()
	})
	wg.Wait()
	if errs[0] != nil {
		return errs[0]
	}
	return errs[1]
}

// resetPeakRSS resets the kernel's record of the process's peak resident
// set (VmHWM), so peakRSS reads the peak since.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is VmHWM in bytes (0 where /proc is not there).
func peakRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpuTime is the process's CPU time so far (user and system).
func cpuTime() time.Duration {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
