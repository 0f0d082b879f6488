package main

import (
	"context"
	"encoding/hex"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/proto/gen/rollcall/identity/v1/identityv1connect"
	"rollcall.dev/proto/gen/rollcall/invitation/v1/invitationv1connect"
)

// otlpSink is an OTLP/gRPC trace receiver: what Jaeger would be given.
type otlpSink struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []*tracev1.Span
}

func (s *otlpSink) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			s.spans = append(s.spans, ss.GetSpans()...)
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func newOTLPSink(t *testing.T) (*otlpSink, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	sink := &otlpSink{}
	collectortrace.RegisterTraceServiceServer(srv, sink)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return sink, "http://" + lis.Addr().String()
}

// find returns the spans named name (optionally only in trace traceID
// and of consumer group group).
func (s *otlpSink) find(name string, traceID []byte, group string) []*tracev1.Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*tracev1.Span
	for _, sp := range s.spans {
		if sp.GetName() != name || (traceID != nil && string(sp.GetTraceId()) != string(traceID)) {
			continue
		}
		in := group == ""
		for _, a := range sp.GetAttributes() {
			in = in || (a.GetKey() == "messaging.consumer.group.name" && a.GetValue().GetStringValue() == group)
		}
		if in {
			out = append(out, sp)
		}
	}
	return out
}

// wait returns the one span named name in trace traceID (any trace when
// nil) of consumer group group (any when ""), waiting for the exporter's
// batches.
func (s *otlpSink) wait(t *testing.T, name string, traceID []byte, group ...string) *tracev1.Span {
	t.Helper()
	g := ""
	if len(group) > 0 {
		g = group[0]
	}
	var got []*tracev1.Span
	require.Eventually(t, func() bool {
		got = s.find(name, traceID, g)
		return len(got) > 0
	}, 30*time.Second, 50*time.Millisecond, "no span %q %s in trace %x", name, g, traceID)
	require.Len(t, got, 1, "span %q %s", name, g)
	return got[0]
}

// children returns the spans whose parent is parent.
func (s *otlpSink) children(parent *tracev1.Span) []*tracev1.Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*tracev1.Span
	for _, sp := range s.spans {
		if string(sp.GetTraceId()) == string(parent.GetTraceId()) && string(sp.GetParentSpanId()) == string(parent.GetSpanId()) {
			out = append(out, sp)
		}
	}
	return out
}

// descends reports whether span is child descends from ancestor through
// parent ids of spans the sink holds.
func (s *otlpSink) descends(child, ancestor *tracev1.Span) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	byID := map[string]*tracev1.Span{}
	for _, sp := range s.spans {
		byID[string(sp.GetTraceId())+string(sp.GetSpanId())] = sp
	}
	for sp := child; sp != nil; sp = byID[string(sp.GetTraceId())+string(sp.GetParentSpanId())] {
		if string(sp.GetSpanId()) == string(ancestor.GetSpanId()) && string(sp.GetTraceId()) == string(ancestor.GetTraceId()) {
			return true
		}
		if len(sp.GetParentSpanId()) == 0 {
			return false
		}
	}
	return false
}

// TestOneTracePerFlow runs the real dev binary exporting to an OTLP
// receiver and follows an invitation the way an operator does in Jaeger:
// CreateInvitation and its UserInvited across NATS in one trace; the
// acceptance, days later, in a trace linked to it, carrying InviteAccepted
// across NATS into identity and on to identity's UserCreated.
func TestOneTracePerFlow(t *testing.T) {
	t.Parallel()
	sink, endpoint := newOTLPSink(t)
	s := startDevStack(t, "OTEL_EXPORTER_OTLP_ENDPOINT="+endpoint, "OTEL_BSP_SCHEDULE_DELAY=100")
	base, tenant, admin := s.base, s.tenant, s.admin
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	inv := invitationv1connect.NewInvitationServiceClient(http.DefaultClient, base)
	ids := identityv1connect.NewIdentityServiceClient(http.DefaultClient, base)
	_, userID := s.inviteIntegration(ctx, t, inv, "Spor", "traced@demo.example", "correct horse battery staple")
	require.Eventually(t, func() bool {
		_, err := ids.GetUser(ctx, bearer(admin, &identityv1.GetUserRequest{TenantId: tenant, UserId: userID}))
		return err == nil
	}, 30*time.Second, 100*time.Millisecond)

	// Creation: the RPC, the relay's publish of UserInvited and
	// integrator-policy's processing of it, parent to child.
	create := sink.wait(t, invitationv1connect.InvitationServiceCreateInvitationProcedure[1:], nil)
	trace1 := create.GetTraceId()
	invited := sink.wait(t, "publish rollcall.invitation.v1.UserInvited", trace1)
	require.True(t, sink.descends(invited, create), "UserInvited's publish is under CreateInvitation")
	processed := sink.wait(t, "process rollcall.invitation.v1.UserInvited", trace1, "integrator-policy-user-invited")
	require.Equal(t, invited.GetSpanId(), processed.GetParentSpanId(), "the consumer continues the publisher's span across NATS")

	// Acceptance: its own request, linked to the creation's trace; its
	// InviteAccepted crosses NATS into identity, whose UserCreated is
	// published in the same trace.
	accept := sink.wait(t, invitationv1connect.InvitationServiceAcceptInvitationProcedure[1:], nil)
	trace2 := accept.GetTraceId()
	linked := false
	for _, l := range accept.GetLinks() {
		linked = linked || string(l.GetTraceId()) == string(trace1)
	}
	require.True(t, linked, "AcceptInvitation links to the trace of CreateInvitation (%s)", hex.EncodeToString(trace1))
	published := sink.wait(t, "publish rollcall.invitation.v1.InviteAccepted", trace2)
	require.True(t, sink.descends(published, accept))
	consumed := sink.wait(t, "process rollcall.invitation.v1.InviteAccepted", trace2, "identity-invite-accepted")
	require.Equal(t, published.GetSpanId(), consumed.GetParentSpanId())
	created := sink.wait(t, "publish rollcall.identity.v1.UserCreated", trace2)
	require.True(t, sink.descends(created, consumed), "identity's UserCreated is published under its processing of InviteAccepted")
}
