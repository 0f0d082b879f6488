package deploy

import (
	"context"
	"encoding/base64"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/platform"
)

// The stack of the design: infrastructure, the four services, the stand-in
// ERP and SMS gateway, and the operator CLI (profile "tools").
func TestComposeLoadsAndHoldsTheWholeStack(t *testing.T) {
	t.Parallel()
	p := composeProject(t)
	want := []string{"erpsim", "identity", "integrator-policy", "invitation", "jaeger", "mailpit", "nats", "postgres", "rollcall", "sms-gateway", "sync"}
	require.Equal(t, want, p.ServiceNames())
	require.Equal(t, []string{"tools"}, p.Services["rollcall"].Profiles, "the CLI runs on demand only")

	for _, s := range p.Services {
		if s.Build != nil {
			require.Equal(t, root(t), s.Build.Context, "service %s builds from the repository root", s.Name)
			require.NotEmpty(t, s.Build.Target, "service %s: one multi-target Dockerfile, so a target", s.Name)
			continue
		}
		// Third-party images: pinned to a version, never latest.
		require.Regexp(t, `^[a-z0-9./-]+:v?[0-9]+\.[0-9]+(\.[0-9]+)?(-[a-z0-9.]+)?(@sha256:[0-9a-f]{64})?$`, s.Image, "service %s", s.Name)
	}
	for svc, vol := range map[string]string{"postgres": "pgdata", "nats": "natsdata"} {
		require.Contains(t, p.Volumes, vol, "%s keeps its data in a named volume", svc)
		require.True(t, slices.ContainsFunc(p.Services[svc].Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && v.Source == vol
		}), "%s mounts %s", svc, vol)
	}
}

// Every secret in .env.example is empty (nothing real is committed), and
// compose refuses to start while any one of them is missing.
func TestComposeRequiresEverySecret(t *testing.T) {
	t.Parallel()
	example := exampleEnv(t)
	var secrets []string
	for k, v := range example {
		if v == "" {
			secrets = append(secrets, k)
		}
	}
	sort.Strings(secrets)
	require.GreaterOrEqual(t, len(secrets), 15)

	_, err := loadCompose(t, example)
	require.Error(t, err, ".env.example as committed must not start a stack")

	full := generatedEnv(t)
	require.Len(t, full, len(example), "gen-env.sh writes every variable of .env.example")
	for _, k := range secrets {
		if strings.HasSuffix(k, "_B64") {
			raw, err := base64.StdEncoding.DecodeString(full[k])
			require.NoError(t, err, "gen-env.sh generates %s in base64", k)
			require.Len(t, raw, 32, "%s is a 32-byte key", k)
			continue
		}
		require.Regexp(t, `^[0-9a-f]{64}$`, full[k], "gen-env.sh generates %s", k)
	}
	for k, v := range example {
		if v != "" {
			require.Equal(t, v, full[k], "gen-env.sh keeps the setting %s", k)
		}
	}
	for _, k := range secrets {
		env := map[string]string{}
		for kk, v := range full {
			if kk != k {
				env[kk] = v
			}
		}
		_, err := loadCompose(t, env)
		require.Error(t, err, "compose must refuse to start without %s", k)
		require.Contains(t, err.Error(), k)
	}
}

// Each Rollcall service's environment names only variables its binary
// reads (platform.Config and the service's own Config), sets every
// required one, and passes the service's own validation.
func TestComposeServiceEnvironmentIsTheServicesConfig(t *testing.T) {
	t.Parallel()
	p := composeProject(t)
	platformKeys := envKeys(t, platform.Config{})
	for _, svc := range appServices {
		t.Run(svc.name, func(t *testing.T) {
			t.Parallel()
			s, ok := p.Services[svc.name]
			require.True(t, ok, "no compose service %s", svc.name)
			require.Equal(t, svc.name, s.Build.Target)
			env := environment(t, s)
			own := envKeys(t, svc.config())
			for k := range env {
				_, inPlatform := platformKeys[k]
				_, inOwn := own[k]
				require.True(t, inPlatform || inOwn, "%s sets %s, which is not a configuration key of the service", svc.name, k)
			}
			for _, keys := range []map[string]envKey{platformKeys, own} {
				for k, spec := range keys {
					if spec.Required {
						require.NotEmpty(t, env[k], "%s: required %s is not set", svc.name, k)
					}
				}
			}
			ctx := context.Background()
			env = mountedPaths(s, env)
			require.NoError(t, loadConfig(ctx, &platformConfig{}, env), "platform config of %s", svc.name)
			require.NoError(t, loadConfig(ctx, svc.config(), env), "config of %s", svc.name)
		})
	}
}

// The other images built here read only variables they know: the CLI's
// commands (kong `env` tags in cmd/rollcall) and the SMS gateway's.
func TestComposeToolEnvironmentIsReal(t *testing.T) {
	t.Parallel()
	p := composeProject(t)
	cliDir := filepath.Join(root(t), "cmd", "rollcall")
	tags := goEnvTags(t, cliDir)
	commands := kongCommands(t, cliDir)
	for _, s := range p.Services {
		if s.Build == nil || slices.ContainsFunc(appServices, func(a appService) bool { return a.name == s.Name }) {
			continue
		}
		var known []string
		switch s.Build.Target {
		case "rollcall":
			if len(s.Command) > 0 {
				typ, ok := commands[s.Command[0]]
				require.True(t, ok, "service %s runs `rollcall %s`, which is not a command", s.Name, s.Command[0])
				known = tags[typ]
			} else {
				for _, typ := range commands {
					known = append(known, tags[typ]...)
				}
			}
		case "sms-gateway":
			known = goEnvCalls(t, filepath.Join(root(t), "deploy", "cmd", "sms-gateway"))
		default:
			t.Fatalf("service %s builds target %s, which this test does not know", s.Name, s.Build.Target)
		}
		require.NotEmpty(t, known)
		for k := range s.Environment {
			require.Contains(t, known, k, "service %s sets %s, which its program does not read", s.Name, k)
		}
	}
}

// Healthchecks and start order: every long-running service but Jaeger
// (no shell or client in its image) has a healthcheck, each probe asks the
// port the service listens on, and services wait for what they need.
func TestComposeHealthchecksAndDependencies(t *testing.T) {
	t.Parallel()
	p := composeProject(t)
	for _, s := range p.Services {
		if s.Name == "jaeger" || len(s.Profiles) > 0 {
			require.Nil(t, s.HealthCheck, s.Name)
			continue
		}
		require.NotNil(t, s.HealthCheck, "service %s has no healthcheck", s.Name)
		hc := s.HealthCheck
		require.NotEmpty(t, hc.Test)
		require.NotNil(t, hc.Interval)
		require.NotNil(t, hc.Retries)
		if hc.Test[0] == "CMD" && hc.Test[1] == "/probe" {
			require.NotNil(t, s.Build, "%s: /probe exists only in the images built here", s.Name)
			u, err := url.Parse(hc.Test[2])
			require.NoError(t, err)
			require.Equal(t, "127.0.0.1", u.Hostname())
			require.Equal(t, listenPort(t, s), u.Port(), "%s's healthcheck asks the port it listens on", s.Name)
		}
		for dep, d := range s.DependsOn {
			target, ok := p.Services[dep]
			require.True(t, ok)
			if d.Condition == types.ServiceConditionHealthy {
				require.NotNil(t, target.HealthCheck, "%s waits for %s to be healthy, which has no healthcheck", s.Name, dep)
			}
		}
	}
	for _, svc := range appServices {
		s := p.Services[svc.name]
		require.Equal(t, "/readyz", probePath(t, s), "%s: ready means Postgres and NATS answer", svc.name)
		for _, dep := range []string{"postgres", "nats"} {
			require.Equal(t, types.ServiceConditionHealthy, s.DependsOn[dep].Condition, "%s waits for %s", svc.name, dep)
		}
		// The grace period covers SHUTDOWN_TIMEOUT (drain consumers, relay).
		env := environment(t, s)
		shutdown, err := time.ParseDuration(env["SHUTDOWN_TIMEOUT"])
		require.NoError(t, err)
		require.NotNil(t, s.StopGracePeriod)
		require.Greater(t, time.Duration(*s.StopGracePeriod), shutdown, "%s: stop_grace_period must exceed SHUTDOWN_TIMEOUT", svc.name)
	}
	require.Equal(t, types.ServiceConditionHealthy, p.Services["sync"].DependsOn["erpsim"].Condition)
	require.Equal(t, types.ServiceConditionHealthy, p.Services["invitation"].DependsOn["mailpit"].Condition)
	require.Equal(t, types.ServiceConditionHealthy, p.Services["invitation"].DependsOn["sms-gateway"].Condition)
}

func probePath(t testing.TB, s types.ServiceConfig) string {
	t.Helper()
	require.NotNil(t, s.HealthCheck)
	u, err := url.Parse(s.HealthCheck.Test[len(s.HealthCheck.Test)-1])
	require.NoError(t, err)
	return u.Path
}

// listenPort is the port a service built here listens on, from its own
// configuration (HTTP_ADDR, ERPSIM_ADDR, SMS_GATEWAY_ADDR).
func listenPort(t testing.TB, s types.ServiceConfig) string {
	t.Helper()
	env := environment(t, s)
	for _, k := range []string{"HTTP_ADDR", "ERPSIM_ADDR", "SMS_GATEWAY_ADDR"} {
		if v, ok := env[k]; ok {
			_, port, err := net.SplitHostPort(v)
			require.NoError(t, err)
			return port
		}
	}
	t.Fatalf("service %s: no listen address in its environment", s.Name)
	return ""
}

// The services find each other and their infrastructure by compose service
// name and the port it listens on, with matching secrets on both ends.
func TestComposeWiring(t *testing.T) {
	t.Parallel()
	p := composeProject(t)
	env := map[string]map[string]string{}
	for name, s := range p.Services {
		env[name] = environment(t, s)
	}
	// The port each service listens on inside the network.
	ports := map[string]string{"postgres": "5432", "nats": "4222", "jaeger": "4317", "mailpit": "1025"}
	for name, s := range p.Services {
		if s.Build != nil && len(s.Profiles) == 0 {
			ports[name] = listenPort(t, s)
		}
	}
	hostPort := func(t *testing.T, raw string) (string, string) {
		if !strings.Contains(raw, "://") {
			raw = "tcp://" + raw
		}
		u, err := url.Parse(raw)
		require.NoError(t, err)
		return u.Hostname(), u.Port()
	}

	databases := map[string]string{}
	natsUsers := map[string]string{}
	for _, svc := range appServices {
		t.Run(svc.name, func(t *testing.T) {
			e := env[svc.name]
			for _, k := range []string{"DATABASE_URL", "NATS_URL", "IDENTITY_URL", "INTEGRATOR_POLICY_URL", "SYNC_ERP_BASE_URL", "SMS_GATEWAY_URL", "SYNC_HR_BASE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
				v, ok := e[k]
				if !ok {
					continue
				}
				host, port := hostPort(t, v)
				require.Contains(t, p.Services, host, "%s: %s names no compose service", svc.name, k)
				require.Equal(t, ports[host], port, "%s: %s must use the port %s listens on", svc.name, k, host)
			}
			if host, ok := e["SMTP_HOST"]; ok {
				require.Equal(t, "mailpit", host)
				require.Equal(t, ports["mailpit"], e["SMTP_PORT"])
			}

			// Its own database and role, with the password the Postgres
			// init script gives that role.
			db, err := url.Parse(e["DATABASE_URL"])
			require.NoError(t, err)
			dbName := strings.TrimPrefix(db.Path, "/")
			require.Equal(t, "rollcall_"+strings.ReplaceAll(svc.name, "-", "_"), dbName)
			require.Equal(t, dbName, db.User.Username(), "%s connects as its own role", svc.name)
			pw, _ := db.User.Password()
			pwVar := strings.ToUpper(strings.ReplaceAll(svc.name, "-", "_")) + "_DB_PASSWORD"
			require.Equal(t, env["postgres"][pwVar], pw, "%s: DATABASE_URL password is %s", svc.name, pwVar)
			require.NotContains(t, databases, dbName)
			databases[dbName] = svc.name

			// Its own NATS user, with the password nats.conf gives it.
			n, err := url.Parse(e["NATS_URL"])
			require.NoError(t, err)
			require.Equal(t, svc.name, n.User.Username(), "%s connects to NATS as its own user", svc.name)
			npw, _ := n.User.Password()
			require.Equal(t, env["nats"][natsPasswordVar(svc.name)], npw)
			require.NotContains(t, natsUsers, n.User.Username())
			natsUsers[n.User.Username()] = svc.name
		})
	}

	// Calls between services: each caller's SERVICE_TOKEN is one of the
	// callee's INTERNAL_TOKENS; every caller has a token of its own.
	callers := map[string]string{}
	for _, svc := range appServices {
		e := env[svc.name]
		if tok, ok := e["SERVICE_TOKEN"]; ok {
			require.NotContains(t, callers, tok, "%s shares its SERVICE_TOKEN", svc.name)
			callers[tok] = svc.name
		}
		for _, k := range []string{"IDENTITY_URL", "INTEGRATOR_POLICY_URL"} {
			v, ok := e[k]
			if !ok {
				continue
			}
			callee, _ := hostPort(t, v)
			require.Contains(t, strings.Split(env[callee]["INTERNAL_TOKENS"], ","), e["SERVICE_TOKEN"],
				"%s calls %s with a token %s does not accept", svc.name, callee, callee)
		}
	}
	// The stand-in ERP accepts the key sync presents.
	require.Contains(t, strings.Split(env["erpsim"]["ERPSIM_API_KEYS"], ","), env["sync"]["SYNC_ERP_API_KEY"])
	host, port := hostPort(t, env["sms-gateway"]["SMS_GATEWAY_SMTP"])
	require.Equal(t, "mailpit", host)
	require.Equal(t, ports["mailpit"], port)
	// The operator CLI is the NATS operator.
	cli, err := url.Parse(env["rollcall"]["NATS_URL"])
	require.NoError(t, err)
	require.Equal(t, "operator", cli.User.Username())
	opw, _ := cli.User.Password()
	require.Equal(t, env["nats"]["NATS_OPERATOR_PASSWORD"], opw)

	// Every mounted file exists: the NATS config, the init script, partners.
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				require.FileExists(t, v.Source, "service %s mounts %s", s.Name, v.Source)
				require.True(t, v.ReadOnly, "service %s: configuration is mounted read-only", s.Name)
			}
		}
	}
}

// natsPasswordVar is the environment variable of a user's password in
// nats.conf ($NATS_<USER>_PASSWORD).
func natsPasswordVar(user string) string {
	return "NATS_" + strings.ToUpper(strings.ReplaceAll(user, "-", "_")) + "_PASSWORD"
}
