package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/testkit"
)

// deploy/postgres/init-databases.sh, run against the test server as the
// postgres image runs it (twice: it must also survive a re-run), gives each
// service a database it owns and can build its schema in, and that no
// other service's role may connect to.
func TestPostgresInitScript(t *testing.T) {
	t.Parallel()
	testkit.RequirePostgres(t)
	if _, err := exec.LookPath("psql"); err != nil {
		if testkit.InCI() {
			t.Fatal("psql is needed (postgresql-client)")
		}
		t.Skip("psql is not installed")
	}
	base, err := pgx.ParseConfig(testkit.DatabaseURL())
	require.NoError(t, err)
	var raw [4]byte
	_, err = rand.Read(raw[:])
	require.NoError(t, err)
	prefix := "deploytest_" + hex.EncodeToString(raw[:]) + "_"

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := pgx.ConnectConfig(ctx, base)
	require.NoError(t, err)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		for _, svc := range appServices {
			name := prefix + strings.ReplaceAll(svc.name, "-", "_")
			_, _ = admin.Exec(cctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{name}.Sanitize()))
			_, _ = admin.Exec(cctx, fmt.Sprintf("DROP ROLE IF EXISTS %s", pgx.Identifier{name}.Sanitize()))
		}
		_ = admin.Close(cctx)
	})

	env := append(os.Environ(),
		"ROLLCALL_DB_PREFIX="+prefix,
		"PGHOST="+base.Host, fmt.Sprintf("PGPORT=%d", base.Port), "PGUSER="+base.User, "PGDATABASE="+base.Database,
		"PGPASSWORD="+base.Password,
		"POSTGRES_USER=", "POSTGRES_DB=",
	)
	for _, svc := range appServices {
		env = append(env, strings.ToUpper(strings.ReplaceAll(svc.name, "-", "_"))+"_DB_PASSWORD=it's a \"password\"; DROP TABLE x")
	}
	script := filepath.Join(root(t), "deploy", "postgres", "init-databases.sh")
	for range 2 {
		cmd := exec.CommandContext(ctx, "sh", script)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
	}

	for _, svc := range appServices {
		name := prefix + strings.ReplaceAll(svc.name, "-", "_")
		conn := connectAsRole(ctx, t, base, name, name)
		require.NoError(t, conn.Ping(ctx))
		// The owner builds its schema (the service migrates at start-up).
		_, err := conn.Exec(ctx, "CREATE TABLE migrated (id int PRIMARY KEY)")
		require.NoError(t, err, "%s creates tables in its database", name)
		require.NoError(t, conn.Close(ctx))

		for _, other := range appServices {
			if other.name == svc.name {
				continue
			}
			otherDB := prefix + strings.ReplaceAll(other.name, "-", "_")
			cfg := base.Copy()
			cfg.User, cfg.Database = name, otherDB
			_, err := pgx.ConnectConfig(ctx, cfg)
			require.Error(t, err, "%s must not connect to %s", name, otherDB)
			require.Contains(t, err.Error(), "permission denied")
		}
	}

	// A missing password stops the script, naming the variable.
	cmd := exec.CommandContext(ctx, "sh", script)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "SYNC_DB_PASSWORD=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "SYNC_DB_PASSWORD is not set")
}

func connectAsRole(ctx context.Context, t *testing.T, base *pgx.ConnConfig, user, db string) *pgx.Conn {
	t.Helper()
	cfg := base.Copy()
	cfg.User, cfg.Database = user, db
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err, "connect as %s to %s", user, db)
	return conn
}

// docker-compose mounts the script where the postgres image runs it at
// its first start, and gives it every password it reads.
func TestComposeRunsThePostgresInitScript(t *testing.T) {
	t.Parallel()
	p := composeProject(t)
	pg := p.Services["postgres"]
	var mounted bool
	for _, v := range pg.Volumes {
		if v.Type == types.VolumeTypeBind && v.Source == filepath.Join(root(t), "deploy", "postgres", "init-databases.sh") {
			mounted = strings.HasPrefix(v.Target, "/docker-entrypoint-initdb.d/") && strings.HasSuffix(v.Target, ".sh")
		}
	}
	require.True(t, mounted, "init-databases.sh is mounted into /docker-entrypoint-initdb.d/")
	require.Regexp(t, `^postgres:15\.`, pg.Image, "PostgreSQL 15")
	env := environment(t, pg)
	for _, svc := range appServices {
		require.NotEmpty(t, env[strings.ToUpper(strings.ReplaceAll(svc.name, "-", "_"))+"_DB_PASSWORD"])
	}
}
