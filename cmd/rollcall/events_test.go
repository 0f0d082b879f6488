package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/testkit"
	invitationv1 "rollcall.dev/proto/gen/rollcall/invitation/v1"
)

func TestEventsPrintsDecodedEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := testkit.NewNATS(t)
	_, err := bus.EnsureStreams(ctx, n.JS, bus.StreamOptions{})
	require.NoError(t, err)
	pub := bus.NewPublisher(n.JS)
	tenant := uuid.NewString()
	publish := func(verb string, msg proto.Message, typ string) {
		t.Helper()
		data, err := proto.Marshal(msg)
		require.NoError(t, err)
		id := uuid.NewString()
		_, err = pub.Publish(ctx, bus.Event{ID: uuid.NewString(), Type: typ, Source: "/test", Subject: "invitation.v1." + tenant + ".invitation." + id + "." + verb, Topic: "invitation/" + id, Time: time.Now(), Data: data})
		require.NoError(t, err)
	}
	expired := &invitationv1.InviteExpired{InvitationId: uuid.NewString(), TenantId: tenant, OccurredAt: timestamppb.Now()}
	publish("expired", expired, "rollcall.invitation.v1.InviteExpired")
	publish("broken", expired, "rollcall.invitation.v1.NoSuchEvent")
	publish("revoked", &invitationv1.InviteRevoked{InvitationId: uuid.NewString(), TenantId: tenant}, "rollcall.invitation.v1.InviteRevoked")

	run := func(e eventsCmd) []printed {
		t.Helper()
		e.Wait = 50 * time.Millisecond
		e.JSON = true
		var out bytes.Buffer
		require.NoError(t, printEvents(ctx, n.JS, &out, []string{bus.StreamInvitation}, &e))
		var got []printed
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if line == "" {
				continue
			}
			var p printed
			require.NoError(t, json.Unmarshal([]byte(line), &p), line)
			got = append(got, p)
		}
		return got
	}
	all := run(eventsCmd{})
	require.Len(t, all, 3)
	require.Equal(t, "rollcall.invitation.v1.InviteExpired", all[0].Type)
	require.Contains(t, string(all[0].Data), expired.GetInvitationId(), "the payload is decoded")
	require.Contains(t, string(all[1].Data), "undecoded", "an unknown type is shown, not fatal")

	filtered := run(eventsCmd{Subject: "invitation.v1.*.invitation.*.revoked"})
	require.Len(t, filtered, 1)
	require.Equal(t, "rollcall.invitation.v1.InviteRevoked", filtered[0].Type)
	last := run(eventsCmd{Last: 2})
	require.Len(t, last, 2)
	require.Equal(t, uint64(2), last[0].Seq)
}

func TestEventsFindsTheDevStackOrSaysWhy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := eventsCmd{DataDir: dir}
	_, err := e.natsURL()
	require.ErrorContains(t, err, "rollcall dev")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nats.url"), []byte("nats://127.0.0.1:4333\n"), 0o644))
	u, err := e.natsURL()
	require.NoError(t, err)
	require.Equal(t, "nats://127.0.0.1:4333", u)
}
