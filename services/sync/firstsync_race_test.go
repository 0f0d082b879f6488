package syncsvc_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/internal/synctest"
)

// A first synchronisation applied with a connection status read before an
// earlier first synchronisation finished (CI once had both pass) is refused
// by the store: it checks the status again under the connection's lock.
func TestASecondFirstSyncIsRefusedEvenWithAStaleStatus(t *testing.T) {
	t.Parallel()
	r := synctest.NewRuns(t, synctest.RunOptions{})
	tn := r.NewTenant(t)
	conn := r.Connect(t, tn)
	pairs(t, r, tn, 1, 0)
	p := previewFirst(t, r, tn, conn.GetConnectionId())
	p2 := previewFirst(t, r, tn, conn.GetConnectionId())
	run := applyFirst(t, r, tn, &syncv1.ApplyFirstSyncRequest{ConnectionId: conn.GetConnectionId(), PreviewId: p.GetPreviewId()})
	r.WaitRun(t, tn, run.GetRunId(), synctest.Finished)

	// What Apply does after its (now stale) status check.
	err := r.Store.CreateRun(context.Background(), app.Run{
		ID: uuid.NewString(), TenantID: tn.ID, ConnectionID: conn.GetConnectionId(), PreviewID: p2.GetPreviewId(),
		Kind: app.KindFirstSync, Status: app.RunRunning, Recipients: []string{"admin@example.com"},
	}, nil)
	require.ErrorIs(t, err, app.ErrWrongState)
}
