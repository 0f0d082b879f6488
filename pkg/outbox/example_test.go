package outbox_test

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/outbox"
	"rollcall.dev/pkg/pgdb"
)

// A use case changes its state and records the event in one transaction; the
// relay publishes it after the commit.
func Example() {
	ctx := context.Background()
	var (
		pool *pgxpool.Pool  // the service's pool (pgdb.NewPool)
		pub  *bus.Publisher // bus.NewPublisher(js)
	)
	if pool == nil {
		return // needs a database and NATS; see outbox_test.go
	}
	relay := outbox.NewRelay(pool, pub, slog.Default(), outbox.RelayConfig{Service: "invitation"})
	_ = relay.Start(ctx)
	defer relay.Stop()

	err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE invitations SET status = 'revoked' WHERE id = $1`, "42"); err != nil {
			return err
		}
		_, err := outbox.Append(ctx, tx, "/rollcall/invitation", outbox.Record{
			Subject:   "invitation.v1.tenant-1.invitation.42.revoked",
			Aggregate: "invitation/42",
			Event:     wrapperspb.String("revoked"),
		})
		return err
	})
	if err == nil {
		relay.Kick() // publish now rather than at the next poll
	}
}
