package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"buf.build/go/protovalidate"
	"connectrpc.com/connect"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	"rollcall.dev/proto/gen/rollcall/integrator/v1/integratorv1connect"
	"rollcall.dev/proto/gen/rollcall/invitation/v1/invitationv1connect"
)

// The dev stack's files the operator commands read their defaults from,
// relative to --data-dir (the files `rollcall dev` writes).
var (
	devAdminTokenFile      = filepath.Join("identity", "bootstrap-admin.token")
	devAppManagerTokenFile = filepath.Join("identity", "bootstrap-app-manager.token")
	devTenantFile          = filepath.Join("identity", "bootstrap-tenant.id")
	devOperatorTokenFile   = filepath.Join("integrator-policy", "operator.token")
)

// serverFlags are the flags of every command that calls Rollcall's API.
// Like `rollcall sync`, they default to the dev stack: its URL, and the
// token kept in its data dir.
type serverFlags struct {
	Server  string `name:"server" aliases:"url" env:"ROLLCALL_URL" default:"http://localhost:8080" help:"Rollcall's API (default: the dev stack)."`
	Token   string `name:"token" env:"ROLLCALL_TOKEN" help:"Bearer token (default: the dev stack's, from --data-dir: the main administrator's; the application manager's for service-user; the operator token for partners)."`
	DataDir string `name:"data-dir" env:"ROLLCALL_DATA_DIR" default:".rollcall" help:"The data dir of 'rollcall dev', where the default token and tenant are read."`
	JSON    bool   `name:"json" help:"Print the answer as one JSON document (the API's JSON) instead of text."`

	out io.Writer // os.Stdout unless a test sets it
}

// apiFlags add the tenant, for the commands that act in one.
type apiFlags struct {
	serverFlags `embed:""`
	Tenant      string `name:"tenant" env:"ROLLCALL_TENANT" help:"The tenant (default: the dev stack's demo tenant, <data-dir>/identity/bootstrap-tenant.id)."`
}

func (s *serverFlags) w() io.Writer {
	if s.out == nil {
		return os.Stdout
	}
	return s.out
}

// devFile reads one line the dev stack keeps under the data dir.
func devFile(dataDir, rel, flag string) (string, error) {
	path := filepath.Join(dataDir, rel)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("no --%s, and %s cannot be read (is 'rollcall dev' running with --data-dir %s?)", flag, path, dataDir)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("no --%s, and %s is empty", flag, path)
	}
	return v, nil
}

// setupToken fills in the token from the dev stack's file when none was
// given.
func (s *serverFlags) setupToken(tokenFile string) error {
	if s.Token != "" {
		return nil
	}
	t, err := devFile(s.DataDir, tokenFile, "token")
	if err != nil {
		return err
	}
	s.Token = t
	return nil
}

// setup fills in token and tenant.
func (a *apiFlags) setup(tokenFile string) error {
	if err := a.setupToken(tokenFile); err != nil {
		return err
	}
	if a.Tenant == "" {
		t, err := devFile(a.DataDir, devTenantFile, "tenant")
		if err != nil {
			return err
		}
		a.Tenant = t
	}
	return nil
}

func (s *serverFlags) base() string { return strings.TrimRight(s.Server, "/") }

func (s *serverFlags) clientOptions() []connect.ClientOption {
	return []connect.ClientOption{connect.WithInterceptors(bearerAuth(s.Token), traceContext{})}
}

var cliHTTP = &http.Client{Timeout: time.Minute}

func (s *serverFlags) invitations() invitationv1connect.InvitationServiceClient {
	return invitationv1connect.NewInvitationServiceClient(cliHTTP, s.base(), s.clientOptions()...)
}

func (s *serverFlags) identity() identityv1connect.IdentityServiceClient {
	return identityv1connect.NewIdentityServiceClient(cliHTTP, s.base(), s.clientOptions()...)
}

func (s *serverFlags) integrators() integratorv1connect.IntegratorPolicyServiceClient {
	return integratorv1connect.NewIntegratorPolicyServiceClient(cliHTTP, s.base(), s.clientOptions()...)
}

// printJSON prints m as one JSON document, in the API's JSON form.
func (s *serverFlags) printJSON(m proto.Message) error {
	return printProtoJSON(s.w(), m)
}

func printProtoJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// bearerAuth sends a bearer token with every call (none when empty).
type bearerAuth string

func (b bearerAuth) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if b != "" {
			req.Header().Set("Authorization", "Bearer "+string(b))
		}
		return next(ctx, req)
	}
}

func (b bearerAuth) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (b bearerAuth) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// traceContext sends the caller's trace context (W3C traceparent) when it
// has one, so the server's spans join the caller's trace (the services'
// otelconnect trusts it). Only `rollcall demo` starts spans.
type traceContext struct{}

func (traceContext) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header()))
		return next(ctx, req)
	}
}

func (traceContext) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (traceContext) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// apiError words an API error for a terminal: the Connect code, the
// message, and one line per field violation (from the services' BadRequest
// details and from protovalidate's Violations), plus the reason of an
// ErrorInfo. A server that cannot be reached is said so, with --server.
func apiError(server string, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err
	}
	if ce.Code() == connect.CodeUnavailable && isDialError(err) {
		return fmt.Errorf("unavailable: cannot reach Rollcall at %s (is 'rollcall dev' running? --server names another): %s", server, ce.Message())
	}
	return errors.New(formatConnectError(ce))
}

// isDialError reports a request that never reached the server (connection
// refused, no such host), as opposed to the server answering unavailable.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

var validationPrefix = regexp.MustCompile(`^validation errors?:\s*`)

func formatConnectError(ce *connect.Error) string {
	var lines []string
	var reasons []string
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			continue
		}
		switch x := v.(type) {
		case *errdetails.BadRequest:
			for _, f := range x.GetFieldViolations() {
				lines = append(lines, violationLine(f.GetField(), f.GetDescription()))
			}
		case *validate.Violations:
			for _, f := range x.GetViolations() {
				lines = append(lines, violationLine(protovalidate.FieldPathString(f.GetField()), f.GetMessage()))
			}
		case *errdetails.ErrorInfo:
			if x.GetReason() != "" {
				reasons = append(reasons, x.GetReason())
			}
		}
	}
	code := ce.Code().String()
	msg := ce.Message()
	if len(reasons) > 0 {
		code += " (" + strings.Join(reasons, ", ") + ")"
	}
	switch {
	case len(lines) == 0:
		return code + ": " + msg
	case len(lines) == 1 && (msg == lines[0] || validationPrefix.MatchString(msg)):
		return code + ": " + lines[0]
	case validationPrefix.MatchString(msg):
		return code + ": the request is not valid:\n  - " + strings.Join(lines, "\n  - ")
	default:
		return code + ": " + msg + "\n  - " + strings.Join(lines, "\n  - ")
	}
}

func violationLine(field, desc string) string {
	if field == "" {
		return desc
	}
	return field + ": " + desc
}

// table writes aligned columns; the first row is the header.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// enumWord is an enum value as a person reads it: INVITATION_STATUS_PENDING
// is "pending", ROLE_MAIN_ADMINISTRATOR "main administrator"; unset is "".
func enumWord(e protoreflect.Enum) string {
	if e.Number() == 0 {
		return ""
	}
	v := e.Descriptor().Values().ByNumber(e.Number())
	if v == nil {
		return fmt.Sprint(e.Number())
	}
	prefix := upperSnake(string(e.Descriptor().Name())) + "_"
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(string(v.Name()), prefix), "_", " "))
}

func upperSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// when formats a timestamp for tables and details: UTC to the minute; ""
// when unset.
func when(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().UTC().Format("2006-01-02 15:04Z")
}

// uuidRE matches the lowercase UUIDs the API uses for ids.
var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// joinOr is "a, b or c".
func joinOr(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}
