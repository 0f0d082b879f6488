package deploy

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/platform"
	identitypg "rollcall.dev/services/identity/adapters/postgres"
	identityports "rollcall.dev/services/identity/ports"
	policypg "rollcall.dev/services/integrator-policy/adapters/postgres"
	policyports "rollcall.dev/services/integrator-policy/ports"
	invitationpg "rollcall.dev/services/invitation/adapters/postgres"
	invitationports "rollcall.dev/services/invitation/ports"
	syncpg "rollcall.dev/services/sync/adapters/postgres"
	syncports "rollcall.dev/services/sync/ports"
)

// natsUse is what one NATS user does, taken from the code: the subjects it
// publishes (its subject functions called with wildcards) and the durable
// consumers it runs (its ports' constructors; they only describe the
// consumer, so a nil use case is fine here).
type natsUse struct {
	publishes []string
	consumers []bus.ConsumerConfig
}

func natsUses() map[string]natsUse {
	return map[string]natsUse{
		"invitation": {
			publishes: []string{invitationpg.Subject("*", "*", "*")},
			consumers: []bus.ConsumerConfig{invitationports.IntegratorReplaced(nil)},
		},
		"identity": {
			publishes: []string{identitypg.Subject("*", "*", "*", "*")},
			consumers: []bus.ConsumerConfig{identityports.InviteAccepted(nil), identityports.IntegratorEvents(nil)},
		},
		"integrator-policy": {
			publishes: []string{policypg.Subject("*", "*", "*"), policypg.DenialSubject("*", "*")},
			consumers: []bus.ConsumerConfig{policyports.UserInvited(nil), policyports.InviteAccepted(nil)},
		},
		"sync": {
			// Its outbox, and FieldChanged for deliveries of its HR webhook.
			publishes: []string{syncpg.Subject("*", "*", "*"), syncports.FieldChangedSubject("*", "*")},
			consumers: syncports.FieldChangedConsumers(nil),
		},
		// The upstream HR system publishes FieldChanged only.
		"hr": {publishes: []string{syncports.FieldChangedSubject("*", "*")}},
	}
}

type durable struct{ stream, name string }

func durables(cs []bus.ConsumerConfig) []durable {
	var out []durable
	for _, c := range cs {
		d := durable{c.Stream, c.Durable}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// jetStreamAllows is exactly what a user with these consumers needs on the
// JetStream API (subject templates from nats-server), publish and subscribe.
// A service (one with consumers, run by pkg/platform) gets its replies on
// its own inbox prefix; the others use the clients' default.
func jetStreamAllows(user string, consumers []bus.ConsumerConfig) (pub, sub []string) {
	sub = []string{"_INBOX.>"}
	if len(consumers) > 0 {
		sub = []string{platform.InboxPrefix(user) + ".>"}
	}
	if len(consumers) == 0 {
		return nil, sub
	}
	for _, s := range bus.Streams {
		pub = append(pub, fmt.Sprintf(server.JSApiStreamInfoT, s.Name), fmt.Sprintf(server.JSApiStreamCreateT, s.Name))
	}
	var streams []string
	for _, d := range durables(consumers) {
		pub = append(pub,
			fmt.Sprintf(server.JSApiConsumerCreateT, d.stream)+"."+d.name,
			fmt.Sprintf(server.JSApiConsumerInfoT, d.stream, d.name),
			fmt.Sprintf(server.JSApiRequestNextT, d.stream, d.name),
			"$JS.ACK."+d.stream+"."+d.name+".>",
			"$JS.ACK.*.*."+d.stream+"."+d.name+".>",
			bus.DeadLetterSubject(d.stream, d.name),
		)
		sub = append(sub, server.JSAdvisoryConsumerMaxDeliveryExceedPre+"."+d.stream+"."+d.name)
		if !slices.Contains(streams, d.stream) {
			streams = append(streams, d.stream)
			pub = append(pub, fmt.Sprintf(server.JSDirectMsgGetT, d.stream), fmt.Sprintf(server.JSApiMsgGetT, d.stream))
		}
	}
	return pub, sub
}

// covers reports whether every subject matching pattern also matches allow
// (NATS wildcards: * one token, > the rest).
func covers(allow, pattern string) bool {
	a, p := strings.Split(allow, "."), strings.Split(pattern, ".")
	for i, tok := range a {
		if tok == ">" {
			return len(p) > i
		}
		if i >= len(p) || p[i] == ">" {
			return false
		}
		if tok != "*" && (tok != p[i] || p[i] == "*") {
			return false
		}
	}
	return len(a) == len(p)
}

func TestCovers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		allow, pattern string
		want           bool
	}{
		{"invitation.v1.>", "invitation.v1.*.invitation.*.*", true},
		{"invitation.v1.>", "invitation.v1", false},
		{"invitation.v1.>", "identity.v1.*.*.*.*", false},
		{"hr.v1.*.employee.*.changed", "hr.v1.*.employee.*.changed", true},
		{"hr.v1.*.employee.*.changed", "hr.v1.*.employee.*.*", false},
		{"hr.v1.*.employee.*.changed", "hr.v1.t.employee.e.changed", true},
		{"hr.v1.t.employee.*.changed", "hr.v1.*.employee.*.changed", false},
		{"a.*", "a.>", false},
		{"a.b", "a.b.c", false},
	} {
		require.Equal(t, tc.want, covers(tc.allow, tc.pattern), "%s covers %s", tc.allow, tc.pattern)
	}
}

// natsOptions parses deploy/nats/nats.conf with the pinned nats-server,
// passwords from env (the file reads them from the environment).
func natsOptions(t *testing.T, env map[string]string) *server.Options {
	t.Helper()
	for k, v := range env {
		if strings.HasPrefix(k, "NATS_") {
			t.Setenv(k, v)
		}
	}
	opts, err := server.ProcessConfigFile(filepath.Join(root(t), "deploy", "nats", "nats.conf"))
	require.NoError(t, err)
	return opts
}

func usersByName(opts *server.Options) map[string]*server.User {
	out := map[string]*server.User{}
	for _, u := range opts.Users {
		out[u.Username] = u
	}
	return out
}

// Not parallel: the config file reads its passwords from the environment.
func TestNATSConfig(t *testing.T) {
	env := generatedEnv(t)
	opts := natsOptions(t, env)

	require.True(t, opts.JetStream, "JetStream is on")
	require.True(t, opts.SyncAlways, "sync_interval: always (a single server has no replica to recover acknowledged events from)")
	require.Equal(t, "/data/jetstream", opts.StoreDir, "the store is on the natsdata volume (docker-compose.yml mounts it at /data)")
	require.Equal(t, 4222, opts.Port)
	require.Equal(t, 8222, opts.HTTPPort, "monitoring port: the compose healthcheck asks /healthz there")
	p, err := loadCompose(t, env)
	require.NoError(t, err)
	require.Equal(t, "nats:"+server.VERSION+"-alpine", p.Services["nats"].Image, "the server the tests embed (pkg pins it)")
	require.Contains(t, p.Services["nats"].HealthCheck.Test, fmt.Sprintf("http://127.0.0.1:%d/healthz?js-enabled-only=true", opts.HTTPPort))

	users := usersByName(opts)
	uses := natsUses()
	var names []string
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	require.Equal(t, []string{"hr", "identity", "integrator-policy", "invitation", "operator", "sync"}, names)
	for _, svc := range appServices {
		require.Contains(t, uses, svc.name, "natsUses lists every service")
	}
	for name, u := range users {
		require.Equal(t, env[natsPasswordVar(name)], u.Password, "user %s's password is $%s", name, natsPasswordVar(name))
		require.Len(t, u.Password, 64)
	}
	require.Nil(t, users["operator"].Permissions, "the operator may do everything")

	for name, use := range uses {
		t.Run(name, func(t *testing.T) {
			u := users[name]
			require.NotNil(t, u.Permissions, "%s has permissions", name)
			require.NotNil(t, u.Permissions.Publish)
			require.NotNil(t, u.Permissions.Subscribe)
			require.Empty(t, u.Permissions.Publish.Deny)
			require.Empty(t, u.Permissions.Subscribe.Deny)
			require.Nil(t, u.Permissions.Response, "no allow_responses: every reply subject is listed")

			wantPub, wantSub := jetStreamAllows(name, use.consumers)
			require.ElementsMatch(t, wantSub, u.Permissions.Subscribe.Allow, "%s subscribes to exactly what it uses", name)

			// The rest of the publish list is event subjects: each covers
			// something the code publishes, and everything it publishes
			// is covered.
			var events []string
			for _, s := range u.Permissions.Publish.Allow {
				if !slices.Contains(wantPub, s) {
					events = append(events, s)
				}
			}
			for _, w := range wantPub {
				require.Contains(t, u.Permissions.Publish.Allow, w, "%s needs %s", name, w)
			}
			for _, p := range use.publishes {
				require.True(t, slices.ContainsFunc(events, func(a string) bool { return covers(a, p) }), "%s publishes %s, which no permission allows", name, p)
			}
			for _, a := range events {
				require.True(t, slices.ContainsFunc(use.publishes, func(p string) bool { return covers(a, p) }), "%s may publish %s, which it never does", name, a)
				// Only its own subjects: none of another user's.
				for other, ou := range uses {
					for _, p := range ou.publishes {
						if other != name && !slices.Contains(use.publishes, p) {
							require.False(t, covers(a, p) || covers(p, a), "%s may publish %s, which is %s's (%s)", name, a, other, p)
						}
					}
				}
				require.True(t, slices.ContainsFunc(bus.Streams, func(s bus.StreamSpec) bool {
					return s.Name != bus.StreamDeadLetter && slices.ContainsFunc(s.Subjects, func(ss string) bool { return covers(ss, a) })
				}), "%s may publish %s, which no event stream captures", name, a)
			}
		})
	}
}
