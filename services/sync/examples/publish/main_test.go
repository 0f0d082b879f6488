package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/testkit"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
)

func TestPublishesAValidFieldChanged(t *testing.T) {
	t.Parallel()
	n := testkit.NewNATS(t)
	tenant := "0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a10"
	require.NoError(t, realMain(context.Background(), []string{"-nats", n.URL, "-tenant", tenant, "-employee", "emp-42",
		"-version", "1", "-op", "created", "-email", "kari@example.com", "-given", "Kari", "-family", "Nordmann",
		"-city", "Oslo", "-country", "NO", "-id", "01019012345"}))
	s, err := n.JS.Stream(context.Background(), bus.StreamHR)
	require.NoError(t, err)
	raw, err := s.GetLastMsgForSubject(context.Background(), "hr.v1."+tenant+".employee.emp-42.changed")
	require.NoError(t, err)
	var ev hrv1.FieldChanged
	require.NoError(t, proto.Unmarshal(raw.Data, &ev))
	require.Equal(t, "Oslo", ev.GetAddress().GetNewValue().GetCity())

	err = realMain(context.Background(), []string{"-nats", n.URL, "-tenant", tenant, "-employee", "emp-42", "-version", "2", "-op", "created"})
	require.ErrorContains(t, err, "email", "a creation without email is refused before publishing")
}
