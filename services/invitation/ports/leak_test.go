package ports_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when goroutines are left running after
// all of them: every shutdown path they take (consumers, relays, servers)
// must end what it started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
