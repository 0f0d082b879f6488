// Package ports translates between the outside world and the sync service's
// use cases: Connect handlers and event consumers. It holds no rules.
package ports

import "rollcall.dev/proto/gen/rollcall/sync/v1/syncv1connect"

// Connect serves rollcall.sync.v1.SyncService. Requests are validated by the
// platform's protovalidate interceptor before they reach it; methods without
// a use case yet answer CodeUnimplemented (from the embedded type).
type Connect struct {
	syncv1connect.UnimplementedSyncServiceHandler
}

var _ syncv1connect.SyncServiceHandler = (*Connect)(nil)

// NewConnect returns the handler.
func NewConnect() *Connect { return &Connect{} }
