package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/testkit"
)

// serviceEnv is each service's own configuration for the test (its
// Config's variables), registered by env_<service>_test.go.
var serviceEnv = map[string][]string{}

var servingLine = regexp.MustCompile(`"msg":"serving".*"addr":"([^"]+)"`)

// Each service binary reads its typed config from the environment, migrates,
// starts its relay and server, answers ready and stops cleanly on SIGTERM.
func TestServiceBinaries(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"invitation", "identity", "integrator-policy", "sync"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n := testkit.NewNATS(t)
			_, dbURL := testkit.NewDBWithURL(t, nil)
			bin := filepath.Join(t.TempDir(), name)
			out, err := exec.Command("go", "build", "-o", bin, "rollcall.dev/services/"+name+"/cmd/"+name).CombinedOutput()
			require.NoError(t, err, string(out))

			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "NATS_URL="+n.URL, "HTTP_ADDR=127.0.0.1:0", "LOG_LEVEL=info")
			cmd.Env = append(cmd.Env, serviceEnv[name]...)
			stderr, err := cmd.StderrPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			t.Cleanup(func() {
				if cmd.ProcessState == nil {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
				}
			})
			addr := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
						addr <- m[1]
					}
				}
			}()
			var base string
			select {
			case a := <-addr:
				base = "http://" + a
			case <-time.After(60 * time.Second):
				t.Fatal("service did not start serving")
			}
			resp, err := http.Get(base + "/readyz")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)

			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			require.NoError(t, cmd.Wait(), "exit 0 on SIGTERM")
		})
	}

	t.Run("RefusesBadConfigNamingTheVariable", func(t *testing.T) {
		t.Parallel()
		bin := filepath.Join(t.TempDir(), "sync")
		out, err := exec.Command("go", "build", "-o", bin, "rollcall.dev/services/sync/cmd/sync").CombinedOutput()
		require.NoError(t, err, string(out))
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "DATABASE_URL=postgres://x@127.0.0.1:1/x", "STREAM_REPLICAS=2")
		out, err = cmd.CombinedOutput()
		require.Error(t, err)
		require.Contains(t, string(out), "STREAM_REPLICAS")
	})
}
