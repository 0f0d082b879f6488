package ports_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
)

func TestDevLoginEndpoint(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tn := e.tenant(t, "DEVLOGIN", 0)
	invitation := uuid.NewString()
	mint := func(provider, body string) (*http.Response, string) {
		res, err := http.Post(e.url+"/dev/login/"+provider, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer res.Body.Close()
		var out struct{ Assertion string }
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res, out.Assertion
	}
	res, a := mint("bankid", `{"country":"no","national_id":"01019010046","audience":"`+invitation+`"}`)
	require.Equal(t, http.StatusOK, res.StatusCode)
	v, err := e.internal.VerifyLogin(context.Background(), connect.NewRequest(&identityv1.VerifyLoginRequest{TenantId: tn.id, Provider: "bankid", Assertion: a, Audience: invitation}))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(v.Msg.GetSubject(), "bankid:no:"))

	res, a = mint("telia", `{"user_id":"kari@telia.example"}`)
	require.Equal(t, http.StatusOK, res.StatusCode)
	v, err = e.internal.VerifyLogin(context.Background(), connect.NewRequest(&identityv1.VerifyLoginRequest{TenantId: tn.id, Provider: "telia", Assertion: a}))
	require.NoError(t, err)
	require.Equal(t, "telia:kari@telia.example", v.Msg.GetSubject())

	res, _ = mint("myspace", `{}`)
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = mint("bankid", `{"nope":1}`)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	get, err := http.Get(e.url + "/dev/login/bankid")
	require.NoError(t, err)
	get.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, get.StatusCode)
}
