package outbox_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when goroutines are left running after
// all of them: every shutdown path they take (Stop, Run returning, Close)
// must end what it started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
