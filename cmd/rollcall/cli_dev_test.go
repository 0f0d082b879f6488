package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"

	"rollcall.dev/pkg/testkit"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
	"rollcall.dev/proto/gen/rollcall/invitation/v1/invitationv1connect"
)

// serverSpans are the names of the server spans (the services' Connect
// handlers) the receiver holds in trace traceID, and whether it holds the
// demo's own span of the flow.
func serverSpans(sink *otlpSink, traceID string) (names []string, demoSpan bool) {
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, sp := range sink.spans {
		if hex.EncodeToString(sp.GetTraceId()) != traceID {
			continue
		}
		demoSpan = demoSpan || strings.HasPrefix(sp.GetName(), "rollcall demo: seed ")
		if sp.GetKind() == tracev1.Span_SPAN_KIND_SERVER {
			names = append(names, sp.GetName())
		}
	}
	return names, demoSpan
}

type cliResult struct {
	stdout, stderr string
	code           int
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

var (
	cliInvitationID = regexp.MustCompile(`invitation\s+([0-9a-f-]{36})`)
	cliDLQSeq       = regexp.MustCompile(`(?m)^(\d+)\s+\S+ \S+\s+INVITATION #\d+\s+\S+\s+rollcall\.invitation\.v1\.InviteAccepted`)
	cliTraceID      = regexp.MustCompile(`trace ([0-9a-f]{32})`)
)

// TestOperatorCLIAgainstTheDevStack runs the operator commands and the demo
// as an operator would: the real binary against one real `rollcall dev`
// (exporting traces to a receiver in the test), with the defaults read
// from its data dir.
func TestOperatorCLIAgainstTheDevStack(t *testing.T) {
	t.Parallel()
	testkit.RequirePostgres(t)
	sink, endpoint := newOTLPSink(t)
	prefix := randomPrefix()
	t.Cleanup(func() { dropDatabases(t, testkit.DatabaseURL(), prefix) })
	traced := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint, "OTEL_BSP_SCHEDULE_DELAY=100"}
	dataDir := filepath.Join(t.TempDir(), ".rollcall")
	p := startDevIn(t, testkit.DatabaseURL(), prefix, dataDir, traced...)
	base := p.waitReady(t)
	tenant, err := devFile(dataDir, devTenantFile, "tenant")
	require.NoError(t, err)
	admin, err := devFile(dataDir, devAdminTokenFile, "token")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// rollcall runs the CLI; --server and --data-dir come from the
	// environment, as an operator would export them.
	env := []string{"ROLLCALL_URL=" + base, "ROLLCALL_DATA_DIR=" + dataDir, "OTEL_EXPORTER_OTLP_ENDPOINT="}
	rollcall := func(t *testing.T, extraEnv []string, args ...string) cliResult {
		t.Helper()
		cmd := exec.CommandContext(ctx, binary(t), args...)
		cmd.Env = append(append(os.Environ(), env...), extraEnv...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		r := cliResult{stdout: out.String(), stderr: errOut.String()}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			r.code = exit.ExitCode()
		} else {
			require.NoError(t, err)
		}
		require.NotContains(t, r.stderr, "goroutine ", "never a stack trace")
		return r
	}
	ok := func(t *testing.T, args ...string) string {
		t.Helper()
		r := rollcall(t, nil, args...)
		require.Equal(t, 0, r.code, "rollcall %s\n%s", strings.Join(args, " "), r)
		return r.stdout
	}
	fails := func(t *testing.T, args ...string) string {
		t.Helper()
		r := rollcall(t, nil, args...)
		require.Equal(t, 1, r.code, "rollcall %s\n%s", strings.Join(args, " "), r)
		require.Empty(t, r.stdout)
		return r.stderr
	}

	t.Run("InviteListRevoke", func(t *testing.T) {
		out := ok(t, "invite", "create", "--email", "per@example.no", "--first-name", "Per", "--last-name", "Hansen", "--mobile", "+4791234567",
			"--area", "support", "--organisation", "Demo AS Oslo", "--cost-centre", "all")
		require.Contains(t, out, "Invited Per Hansen <per@example.no> as a member.")
		require.Contains(t, out, "by SMS to +4791234567")
		require.Contains(t, out, "custom: areas support; organisations 1; cost centres all")
		id := cliInvitationID.FindStringSubmatch(out)
		require.NotNil(t, id, out)

		require.Regexp(t, id[1]+`\s+member\s+pending\s+Per Hansen <per@example.no>`, ok(t, "invite", "list"))
		var listed struct {
			Invitations []struct {
				InvitationID string `json:"invitationId"`
				Status       string `json:"status"`
			} `json:"invitations"`
		}
		require.NoError(t, json.Unmarshal([]byte(ok(t, "invite", "list", "--json", "--status", "pending")), &listed))
		require.Len(t, listed.Invitations, 1)
		require.Equal(t, id[1], listed.Invitations[0].InvitationID)

		require.Contains(t, ok(t, "invite", "revoke", id[1], "--note", "typo in the name"), "Revoked the invitation of Per Hansen <per@example.no>")
		require.Contains(t, ok(t, "invite", "show", id[1]), "revoked")
		require.Equal(t, "rollcall: failed_precondition: invitation is no longer pending\n", fails(t, "invite", "revoke", id[1]))

		// Bad input: every field the server refuses, one per line.
		stderr := fails(t, "invite", "create", "--email", "not-an-email", "--first-name", " ", "--last-name", "Hansen", "--mobile", "12345", "--area", "support")
		require.Contains(t, stderr, "rollcall: invalid_argument: the request is not valid:\n")
		require.Contains(t, stderr, "\n  - email: must be a valid email address")
		require.Contains(t, stderr, "\n  - mobile: does not match regex pattern")
		require.Contains(t, stderr, "\n  - first_name: must not be only whitespace")
		require.Contains(t, fails(t, "invite", "create", "--kind", "integrator", "--email", "someone@gmail.example"),
			"rollcall: invalid_argument: email: does not belong to a registered partner")
		require.Contains(t, fails(t, "invite", "list", "--token", "rc_not-a-token"), "rollcall: unauthenticated:")
	})

	t.Run("ServiceUserPrintsItsLetter", func(t *testing.T) {
		pdf := filepath.Join(t.TempDir(), "letter.pdf")
		out := ok(t, "service-user", "create", "--code", "PAIE2026", "--application", "Lønn (payroll)", "--language", "fr-CA", "--letter-pdf", pdf)
		require.Contains(t, out, "Created service user PAIE2026")
		require.Contains(t, out, "shown this once")
		require.Contains(t, out, "Code d'utilisateur: PAIE2026")
		require.Regexp(t, `Mot de passe:\s+\S{12,}`, out, "the letter carries the password")
		b, err := os.ReadFile(pdf)
		require.NoError(t, err)
		require.True(t, bytes.HasPrefix(b, []byte("%PDF")))
		st, err := os.Stat(pdf)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
		require.Contains(t, fails(t, "service-user", "create", "--code", "PAIE2026", "--application", "Lønn (payroll)"),
			"rollcall: already_exists: user_code: the tenant already has a service user")
		require.Contains(t, ok(t, "service-user", "status", "paie2026", "inactive"), "Service user PAIE2026")
		require.Regexp(t, `PAIE2026\s+-\s+API only, inactive`, ok(t, "users", "--kind", "service"))
	})

	// The README's dead-letter workflow: an accepted invitation that
	// identity cannot apply (the plan has no free seat) is parked; the
	// operator sees why, raises the limit, and replays it.
	t.Run("DeadLetters", func(t *testing.T) {
		require.Equal(t, "No dead letters.\n", ok(t, "dlq"))
		require.JSONEq(t, `{"deadLetters":[]}`, ok(t, "dlq", "list", "--json"))

		ids := identityv1connect.NewIdentityServiceClient(http.DefaultClient, base)
		inv := invitationv1connect.NewInvitationServiceClient(http.DefaultClient, base)
		tn, err := ids.GetTenant(ctx, bearer(admin, &identityv1.GetTenantRequest{TenantId: tenant}))
		require.NoError(t, err)
		limit := tn.Msg.GetTenant().GetSeatLimit()
		_, err = ids.UpdateTenant(ctx, bearer(admin, &identityv1.UpdateTenantRequest{TenantId: tenant, SeatLimit: ptr(tn.Msg.GetSeatsTaken())}))
		require.NoError(t, err)

		out := ok(t, "invite", "create", "--email", "full@example.no", "--first-name", "Ida", "--last-name", "Berg", "--mobile", "+4791234599", "--area", "invoices")
		invID := cliInvitationID.FindStringSubmatch(out)[1]
		tok := linkToken.FindStringSubmatch(waitMessage(t, base, "full@example.no").Text)
		code := sixDigits.FindStringSubmatch(waitMessage(t, base, "+4791234599").Text)
		require.NotNil(t, tok)
		require.NotNil(t, code)
		var minted struct{ Assertion string }
		body := fmt.Sprintf(`{"country":"no","national_id":%q,"audience":%q}`, norwegianID(mrand.New(mrand.NewPCG(9, 9))), invID)
		res, err := http.Post(base+"/dev/login/bankid", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		require.NoError(t, json.NewDecoder(res.Body).Decode(&minted))
		_ = res.Body.Close()
		accepted, err := inv.AcceptInvitation(ctx, connect.NewRequest(&invitationv1.AcceptInvitationRequest{
			Token: tok[1], Code: code[1], LoginMethod: invitationv1.LoginMethod_LOGIN_METHOD_BANKID,
			LoginAssertion: &invitationv1.LoginAssertion{Provider: "bankid", Assertion: minted.Assertion},
		}))
		require.NoError(t, err)

		var list string
		require.Eventually(t, func() bool {
			list = ok(t, "dlq", "list")
			return cliDLQSeq.MatchString(list)
		}, 30*time.Second, 200*time.Millisecond, "InviteAccepted is parked")
		require.Contains(t, list, "no free seat")
		seq := cliDLQSeq.FindStringSubmatch(list)[1]
		inspected := ok(t, "dlq", "inspect", seq)
		require.Contains(t, inspected, "reason       permanent failure:")
		require.Contains(t, inspected, "free a seat or raise the plan's limit, then replay")
		require.Contains(t, inspected, `"invitation_id":"`+invID+`"`, "the payload, decoded")

		_, err = ids.UpdateTenant(ctx, bearer(admin, &identityv1.UpdateTenantRequest{TenantId: tenant, SeatLimit: ptr(limit)}))
		require.NoError(t, err)
		require.Contains(t, ok(t, "dlq", "replay", seq), "Replayed #"+seq+": rollcall.invitation.v1.InviteAccepted")
		require.Eventually(t, func() bool {
			u, err := ids.GetUser(ctx, bearer(admin, &identityv1.GetUserRequest{TenantId: tenant, UserId: accepted.Msg.GetUserId()}))
			return err == nil && u.Msg.GetUser().GetStatus() == identityv1.UserStatus_USER_STATUS_ACTIVE
		}, 30*time.Second, 100*time.Millisecond, "the replayed acceptance creates the user")
		require.Equal(t, "No dead letters.\n", ok(t, "dlq"))
		require.Equal(t, "rollcall: no dead letter #"+seq+" (replayed already, or never parked: rollcall dlq list)\n", fails(t, "dlq", "replay", seq))
		require.Contains(t, fails(t, "dlq", "discard", seq), "add --yes", "discarding asks to be sure")
		require.Equal(t, "rollcall: no dead letter #"+seq+" (replayed already, or never parked: rollcall dlq list)\n", fails(t, "dlq", "discard", "--yes", seq))
	})

	t.Run("Demo", func(t *testing.T) {
		r := rollcall(t, traced, "demo", "--wait", "60s")
		require.Equal(t, 0, r.code, r.String())
		for _, seed := range []string{"000", "001", "002", "003", "004"} {
			require.Contains(t, r.stdout, "== Seed "+seed+": ")
		}
		for _, step := range []string{
			"The third-party system signs in with that email and password",
			"Identity created Per (user ",
			"Code d'utilisateur: PAIE",
			"The same credentials on the web sign-in are refused: permission_denied (SERVICE_USER_API_ONLY)",
			"Ivan is dismissed at once, before Nils has even accepted",
			"permission_denied: grants.permission_level: an integrator may not create administrators",
			"The first synchronisation's preview (nothing written): HR 2 employees, the ERP 2",
			"succeeded, 3 of 3 employees",
			"The change is in 24SevenOffice",
			"All 5 flows ran.",
		} {
			require.Contains(t, r.stdout, step)
		}
		// Each flow is one trace, and the services' spans are in it.
		traces := map[string]bool{}
		for _, m := range cliTraceID.FindAllStringSubmatch(r.stdout, -1) {
			traces[m[1]] = true
		}
		require.Len(t, traces, 5, r.stdout)
		for id := range traces {
			require.Eventually(t, func() bool {
				server, demo := serverSpans(sink, id)
				return demo && len(server) > 0
			}, 30*time.Second, 100*time.Millisecond, "trace %s: the demo's span and the services' spans", id)
		}

		// Seed 004's trace follows the HR change past NATS: sync's
		// consumer span continues the demo's publish, the propagation
		// continues the consumer span, and the ERP's HTTP calls are its
		// children.
		m := regexp.MustCompile(`seed 004\s.*?([0-9a-f]{32})`).FindStringSubmatch(r.stdout)
		require.NotNil(t, m, r.stdout)
		tid, err := hex.DecodeString(m[1])
		require.NoError(t, err)
		consumed := sink.wait(t, "process rollcall.hr.v1.FieldChanged", tid, "sync-hr-field-changed")
		var prop *tracev1.Span
		require.Eventually(t, func() bool {
			for _, sp := range sink.find("propagate employee", tid, "") {
				if string(sp.GetParentSpanId()) == string(consumed.GetSpanId()) {
					prop = sp
				}
			}
			return prop != nil
		}, 30*time.Second, 50*time.Millisecond, "a propagation continuing the FieldChanged consumer span")
		require.Eventually(t, func() bool {
			for _, sp := range sink.children(prop) {
				if sp.GetKind() == tracev1.Span_SPAN_KIND_CLIENT {
					return true
				}
			}
			return false
		}, 30*time.Second, 50*time.Millisecond, "the ERP's HTTP calls under the propagation")

		// It runs again against the same stack: its names carry the run.
		again := rollcall(t, nil, "demo", "--only", "003", "--only", "004")
		require.Equal(t, 0, again.code, again.String())
		require.Contains(t, again.stdout, "All 2 flows ran.")
		require.NotContains(t, again.stdout, "trace ", "no trace ids when tracing is off")

		require.Contains(t, ok(t, "integrators"), "No integrator.", "the demo dismissed its integrator")
		require.Contains(t, ok(t, "partners"), "Integra Partner AS")
		require.Regexp(t, `integration\s+active\s+user\s+Klarna Integrasjon`, ok(t, "users"))
		require.Contains(t, ok(t, "sync", "connections"), "No ERP connection.", "the demo deleted its connections")
	})
}
