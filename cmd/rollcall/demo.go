package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/telemetry"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	"rollcall.dev/proto/gen/rollcall/integrator/v1/integratorv1connect"
	"rollcall.dev/proto/gen/rollcall/invitation/v1/invitationv1connect"
	"rollcall.dev/proto/gen/rollcall/sync/v1/syncv1connect"
)

// demoCmd drives the five seed flows against a running `rollcall dev`,
// through the APIs a person or a system would use: the administrators'
// Connect calls with their bearer tokens, the invitee following the link
// from the mail sink and signing in through the development login
// stand-ins, the vendor's API token endpoint, the HR system publishing
// FieldChanged on NATS, and the stand-in ERP and HR systems' own admin
// endpoints only where the seed's step happens inside those systems
// (making an API key in the ERP, the employees both systems hold already).
//
// Every name it makes carries the run's id, so it can run again and again
// against the same stack.
type demoCmd struct {
	Server         string        `name:"server" aliases:"url" env:"ROLLCALL_URL" default:"http://localhost:8080" help:"The running 'rollcall dev'."`
	DataDir        string        `name:"data-dir" env:"ROLLCALL_DATA_DIR" default:".rollcall" help:"Its data dir: the demo reads the tenant, the administrators' tokens, the NATS URL and the stand-in HR system's token there."`
	NATS           string        `name:"nats" aliases:"nats-url" env:"NATS_URL" help:"NATS, where the HR system publishes its changes (default: the dev stack's, <data-dir>/nats.url)."`
	OTLP           string        `name:"otlp-endpoint" env:"OTEL_EXPORTER_OTLP_ENDPOINT" help:"Export the demo's own spans here over OTLP/gRPC and print each flow's trace id. Start 'rollcall dev' with the same endpoint so the services' spans join them."`
	TraceURL       string        `name:"trace-url" default:"http://localhost:16686/trace/" help:"Printed before each trace id (Jaeger's UI)."`
	Only           []string      `name:"only" enum:"000,001,002,003,004" help:"Run only these flows (000 integration user, 001 invite a user, 002 service user, 003 integrator, 004 HR to ERP); repeatable."`
	KeepConnection bool          `name:"keep-connection" help:"Keep the ERP connection flow 004 makes (by default it is deleted at the end, so the tenant can still be connected as a whole)."`
	Wait           time.Duration `name:"wait" default:"30s" help:"How long to wait for each effect that happens asynchronously (an event consumed, a run finished)."`

	out io.Writer
}

// demo is one run's state.
type demo struct {
	cmd     *demoCmd
	out     io.Writer
	base    string
	run     string // a short random id, in every name this run makes
	rnd     *mrand.Rand
	tracing bool

	tenant, tenantName, companyCode, tenantLanguage string
	admin, appManager                               string // bearer tokens
	adminName, adminEmail                           string

	inv     invitationv1connect.InvitationServiceClient // as the main administrator
	idn     identityv1connect.IdentityServiceClient     // as the main administrator
	pol     integratorv1connect.IntegratorPolicyServiceClient
	sync    syncv1connect.SyncServiceClient
	apps    identityv1connect.IdentityServiceClient     // as the application manager
	anonInv invitationv1connect.InvitationServiceClient // the invitee, no token
	anonIdn identityv1connect.IdentityServiceClient     // sign-in and the API token endpoint, no token
	st      *structure

	// Made by flow 001, used by flow 003 (the employee an integrator may
	// not dismiss).
	employeeID, employeeName string

	step int
}

type demoFlow struct {
	id, title string
	run       func(context.Context) error
}

func (c *demoCmd) w() io.Writer {
	if c.out == nil {
		return os.Stdout
	}
	return c.out
}

func (c *demoCmd) Run(ctx context.Context) error {
	d := &demo{cmd: c, out: c.w(), base: strings.TrimRight(c.Server, "/"), tracing: c.OTLP != ""}
	if d.tracing {
		tel, err := telemetry.Setup(ctx, telemetry.Config{
			ServiceName: "rollcall-demo", ServiceVersion: platform.Version, OTLPEndpoint: c.OTLP, OTLPInsecure: true,
			LogLevel: slog.LevelWarn, LogWriter: os.Stderr,
		})
		if err != nil {
			return fmt.Errorf("tracing: %w", err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = tel.Shutdown(sctx) // flushes the demo's spans
		}()
	}
	if err := d.setup(ctx); err != nil {
		return err
	}
	flows := []demoFlow{
		{"000", "integration user (24SevenOffice)", d.integrationUser},
		{"001", "invite a user (Telia MyBusiness)", d.inviteUser},
		{"002", "service user, API only (payroll)", d.serviceUser},
		{"003", "integrator (Bitrix24)", d.integrator},
		{"004", "HR to ERP sync (Huma and 24SevenOffice)", d.hrToERP},
	}
	type result struct {
		flow    demoFlow
		err     error
		took    time.Duration
		traceID string
	}
	var results []result
	tracer := otel.Tracer("rollcall.dev/cmd/rollcall/demo")
	for _, f := range flows {
		if len(c.Only) > 0 && !slices.Contains(c.Only, f.id) {
			continue
		}
		fctx, span := tracer.Start(ctx, "rollcall demo: seed "+f.id+" "+f.title, trace.WithSpanKind(trace.SpanKindClient))
		r := result{flow: f}
		if sc := span.SpanContext(); d.tracing && sc.HasTraceID() {
			r.traceID = sc.TraceID().String()
		}
		fmt.Fprintf(d.out, "\n== Seed %s: %s\n", f.id, f.title)
		if r.traceID != "" {
			fmt.Fprintf(d.out, "   trace %s  %s%s\n", r.traceID, c.TraceURL, r.traceID)
		}
		d.step = 0
		start := time.Now()
		r.err = f.run(fctx)
		r.took = time.Since(start).Round(10 * time.Millisecond)
		if r.err != nil {
			span.RecordError(r.err)
			fmt.Fprintf(d.out, "   FAILED: %s\n", indentLines(r.err.Error(), "   "))
		} else {
			fmt.Fprintf(d.out, "   done in %s\n", r.took)
		}
		span.End()
		results = append(results, r)
		if ctx.Err() != nil {
			break
		}
	}

	fmt.Fprintf(d.out, "\nSummary (run %s)\n", d.run)
	t := newTable(d.out)
	failed := 0
	for _, r := range results {
		status := "ok"
		if r.err != nil {
			status, failed = "FAILED", failed+1
		}
		t.row("  seed "+r.flow.id, r.flow.title, status, r.took.String(), r.traceID)
	}
	_ = t.flush()
	if failed > 0 {
		return fmt.Errorf("%d of %d flows failed", failed, len(results))
	}
	fmt.Fprintf(d.out, "All %d flows ran. The events they caused: rollcall events --last 40; dead letters: rollcall dlq list.\n", len(results))
	return nil
}

func (d *demo) setup(ctx context.Context) error {
	var err error
	read := func(rel, what string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = devFile(d.cmd.DataDir, rel, what)
		return v
	}
	d.tenant = read(devTenantFile, "data-dir")
	d.admin = read(devAdminTokenFile, "data-dir")
	d.appManager = read(devAppManagerTokenFile, "data-dir")
	if err != nil {
		return fmt.Errorf("the demo runs next to 'rollcall dev' and reads its data dir: %w", err)
	}
	var seed [16]byte
	_, _ = rand.Read(seed[:])
	d.run = hex.EncodeToString(seed[:3])
	var s1, s2 uint64
	for i := range 8 {
		s1, s2 = s1<<8|uint64(seed[i]), s2<<8|uint64(seed[8+i])
	}
	d.rnd = mrand.New(mrand.NewPCG(s1, s2))

	as := func(token string) *serverFlags { return &serverFlags{Server: d.base, Token: token} }
	admin, apps, anon := as(d.admin), as(d.appManager), as("")
	d.inv, d.idn, d.pol = admin.invitations(), admin.identity(), admin.integrators()
	d.sync = syncv1connect.NewSyncServiceClient(cliHTTP, d.base, admin.clientOptions()...)
	d.apps = apps.identity()
	d.anonInv, d.anonIdn = anon.invitations(), anon.identity()
	d.st = &structure{client: d.idn, tenant: d.tenant, server: d.base}

	t, err := d.idn.GetTenant(ctx, connect.NewRequest(&identityv1.GetTenantRequest{TenantId: d.tenant}))
	if err != nil {
		return fmt.Errorf("the dev stack's demo tenant: %w", apiError(d.base, err))
	}
	d.tenantName, d.companyCode, d.tenantLanguage = t.Msg.GetTenant().GetName(), t.Msg.GetTenant().GetCompanyCode(), t.Msg.GetTenant().GetLanguage()
	me, err := d.idn.ListUsers(ctx, connect.NewRequest(&identityv1.ListUsersRequest{TenantId: d.tenant, Kinds: []identityv1.UserKind{identityv1.UserKind_USER_KIND_PERSON}, PageSize: 500}))
	if err != nil {
		return apiError(d.base, err)
	}
	for _, u := range me.Msg.GetUsers() {
		if u.GetRole() == identityv1.Role_ROLE_MAIN_ADMINISTRATOR && u.GetOrigin() == commonv1.CreationOrigin_CREATION_ORIGIN_TENANT_CREATION {
			d.adminName, d.adminEmail = userName(u), u.GetProfile().GetEmail()
		}
	}
	if d.adminName == "" {
		d.adminName = "the main administrator"
	}
	fmt.Fprintf(d.out, "Rollcall demo, run %s, against %s\n", d.run, d.base)
	fmt.Fprintf(d.out, "Tenant %s (company code %s, language %s): %d of %d seats taken. Acting as %s (main administrator) and the application manager.\n",
		d.tenantName, d.companyCode, d.tenantLanguage, t.Msg.GetSeatsTaken(), t.Msg.GetTenant().GetSeatLimit(), d.adminName)
	if d.tracing {
		fmt.Fprintf(d.out, "Tracing: each flow is one trace, exported to %s with the services' spans (when 'rollcall dev' exports there too).\n", d.cmd.OTLP)
	}
	return nil
}

// say prints the next numbered step of the flow.
func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "%3d. %s\n", d.step, indentLines(fmt.Sprintf(format, args...), "     "))
}

// detail prints a line under the current step.
func (d *demo) detail(format string, args ...any) {
	fmt.Fprintf(d.out, "     %s\n", indentLines(fmt.Sprintf(format, args...), "     "))
}

func indentLines(s, indent string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+indent)
}

// eventually polls f until it reports done, for at most --wait.
func (d *demo) eventually(ctx context.Context, what string, f func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, d.cmd.Wait)
	defer cancel()
	var last error
	for {
		ok, err := f()
		if ok {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("waited %s for %s; last: %w", d.cmd.Wait, what, last)
			}
			return fmt.Errorf("waited %s for %s", d.cmd.Wait, what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// httpJSON calls one of the dev stack's plain HTTP endpoints (the mail
// sink, the login stand-ins, the stand-in ERP and HR systems), with the
// flow's trace context.
func (d *demo) httpJSON(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
	res, err := cliHTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, shorten(string(b), 300))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// demoMail is a message in the dev stack's mail and SMS sink.
type demoMail struct {
	Kind       string    `json:"kind"`
	To         []string  `json:"to"`
	Subject    string    `json:"subject"`
	Text       string    `json:"text"`
	ReceivedAt time.Time `json:"receivedAt"`
}

// mail waits for the newest message to addr that match accepts (nil: any).
func (d *demo) mail(ctx context.Context, addr string, match func(demoMail) bool) (demoMail, error) {
	var got demoMail
	err := d.eventually(ctx, "a message to "+addr+" in the mail sink", func() (bool, error) {
		var msgs []demoMail
		if err := d.httpJSON(ctx, http.MethodGet, "/dev/mail/api/messages?to="+url.QueryEscape(addr), "", nil, &msgs); err != nil {
			return false, err
		}
		for _, m := range msgs {
			if match == nil || match(m) {
				got = m
				return true, nil
			}
		}
		return false, nil
	})
	return got, err
}

// mint has a development login stand-in (/dev/login/<provider>) sign the
// invitee in, as BankID or a provider profile would.
func (d *demo) mint(ctx context.Context, provider string, claims map[string]string) (string, error) {
	var res struct {
		Assertion string `json:"assertion"`
	}
	if err := d.httpJSON(ctx, http.MethodPost, "/dev/login/"+provider, "", claims, &res); err != nil {
		return "", fmt.Errorf("the %s login stand-in: %w", provider, err)
	}
	return res.Assertion, nil
}

// secret is a random password-like string.
func secret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// mobile is a random Norwegian mobile number in E.164 form.
func (d *demo) mobile() string { return fmt.Sprintf("+479%07d", d.rnd.IntN(10_000_000)) }

// norwegianID makes a valid Norwegian national identity number
// (fødselsnummer) of someone born 1950-1999: DDMMYY, an individual number
// of the 1900s series (000-499) and the two mod-11 check digits, so the
// BankID stand-in accepts it. Random, so each run's invitee is a new person.
func norwegianID(r *mrand.Rand) string {
	for {
		y, m, day, ind := 1950+r.IntN(50), 1+r.IntN(12), 1+r.IntN(28), r.IntN(500)
		s := fmt.Sprintf("%02d%02d%02d%03d", day, m, y%100, ind)
		k1 := mod11(s, []int{3, 7, 6, 1, 8, 9, 4, 5, 2})
		if k1 == 10 {
			continue
		}
		s += fmt.Sprint(k1)
		k2 := mod11(s, []int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2})
		if k2 == 10 {
			continue
		}
		return s + fmt.Sprint(k2)
	}
}

func mod11(digits string, weights []int) int {
	sum := 0
	for i, w := range weights {
		sum += int(digits[i]-'0') * w
	}
	k := 11 - sum%11
	if k == 11 {
		return 0
	}
	return k
}

// expectRefused checks that err is the Connect refusal wanted and words it.
func expectRefused(err error, code connect.Code, what string) (string, error) {
	if err == nil {
		return "", fmt.Errorf("%s was allowed; it must be refused (%s)", what, code)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != code {
		return "", fmt.Errorf("%s: want %s, got: %w", what, code, err)
	}
	return formatConnectError(ce), nil
}

// dataFile reads a file of the dev stack's data dir.
func (d *demo) dataFile(name string) (string, error) {
	return devFile(d.cmd.DataDir, filepath.Clean(name), "data-dir")
}
