package ports_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/svcauth"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/proto/gen/rollcall/integrator/v1/integratorv1connect"
	"rollcall.dev/services/identity/adapters/policy"
	"rollcall.dev/services/identity/app"
)

// policyStandIn is a real-HTTP IntegratorPolicyService that implements
// CheckAction with the real rule (seed 003): the tenant's integrators may
// not create or grant administrators, nor dismiss employees; everyone else
// may. The test registers who is an integrator.
type policyStandIn struct {
	integratorv1connect.UnimplementedIntegratorPolicyServiceHandler
	mu          sync.Mutex
	integrators map[string]bool // tenant/user
	calls       []*integratorv1.CheckActionRequest
	url         string
	down        bool
}

func newPolicyStandIn(t *testing.T) *policyStandIn {
	p := &policyStandIn{integrators: map[string]bool{}}
	tokens, err := svcauth.ParseTokens(serviceToken)
	require.NoError(t, err)
	path, h := integratorv1connect.NewIntegratorPolicyServiceHandler(p, connect.WithInterceptors(svcauth.Require(tokens)))
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *policyStandIn) client(t *testing.T) app.Policy {
	c, err := svcauth.NewClient(p.url, serviceToken, 0)
	require.NoError(t, err)
	return policy.New(c)
}

func (p *policyStandIn) integrator(tenantID, userID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.integrators[tenantID+"/"+userID] = true
}

func (p *policyStandIn) CheckAction(_ context.Context, req *connect.Request[integratorv1.CheckActionRequest]) (*connect.Response[integratorv1.CheckActionResponse], error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, req.Msg)
	if p.down {
		return nil, connect.NewError(connect.CodeUnavailable, nil)
	}
	if p.integrators[req.Msg.GetTenantId()+"/"+req.Msg.GetActorUserId()] {
		msg := "an integrator cannot create administrators or dismiss employees"
		if req.Msg.GetAction() == integratorv1.Action_ACTION_DISABLE_TWO_FACTOR {
			msg = "an integrator may not turn off an employee's two-factor authentication"
		}
		return connect.NewResponse(&integratorv1.CheckActionResponse{
			Allowed: false, Reason: integratorv1.DenialReason_DENIAL_REASON_INTEGRATOR_RESTRICTION, Message: msg,
		}), nil
	}
	return connect.NewResponse(&integratorv1.CheckActionResponse{Allowed: true}), nil
}

func (p *policyStandIn) lastCall() *integratorv1.CheckActionRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[len(p.calls)-1]
}

func (p *policyStandIn) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

func (p *policyStandIn) callCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}
