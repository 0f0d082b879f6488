package syncsvc_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/internal/synctest"
)

// A burst (here: 3,000 changes of 100 employees waiting in the stream, as
// after an outage of the service or an HR import) becomes one ERP write per
// employee: while more changes wait behind a batch the propagator holds the
// employees back (SYNC_BURST_HOLD), and when the burst is taken in it
// writes each employee once, at its last version. Without the hold the
// employees of the first batch are written, then written again (checked:
// this test fails with BurstHold 0).
func TestABurstIsWrittenOncePerEmployee(t *testing.T) {
	t.Parallel()
	// A hold longer than taking the burst in can take here: only the end
	// of the burst releases the employees.
	s := synctest.New(t, synctest.Options{NoConsumer: true, BurstHold: time.Minute})
	tn := tenant()
	const employees, versions = 100, 30
	email := func(i int) string { return fmt.Sprintf("burst%03d.%s@example.com", i, tn[:8]) }
	id := func(i int) string { return fmt.Sprintf("burst-%03d", i) }
	for v := 1; v <= versions; v++ {
		for i := range employees {
			ev := synctest.Updated(tn, id(i), uint64(v))
			if v == 1 {
				ev = synctest.Created(tn, id(i), 1, email(i), "v1", "Burst")
			}
			ev.GivenName = &hrv1.NameChange{NewValue: ptr("v" + strconv.Itoa(v))}
			s.Publish(t, ev)
		}
	}
	s.StartConsumer(t)
	for i := range employees {
		erpByEmail(t, s, email(i), func(e erp.Employee) bool { return e.Firstname == "v"+strconv.Itoa(versions) })
	}
	st := s.Sim.Stats()
	require.Equal(t, employees, st.Creates, "each employee created once")
	require.Zero(t, st.Updates, "created at its last version: no second write")
}

// A trickle is never held back: with a long hold, a change that arrives
// alone is written within the usual time.
func TestATrickleIsNotHeldBack(t *testing.T) {
	t.Parallel()
	s := synctest.New(t, synctest.Options{BurstHold: time.Minute})
	tn := tenant()
	mail := "trickle." + synctest.Unique() + "@example.com"
	start := time.Now()
	s.Publish(t, synctest.Created(tn, "trickle-1", 1, mail, "Tr", "Ickle"))
	erpByEmail(t, s, mail, nil)
	require.Less(t, time.Since(start), 10*time.Second, "written long before the hold would have let it")
}
