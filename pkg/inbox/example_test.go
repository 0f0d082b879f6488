package inbox_test

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/inbox"
)

// A consumer applies an event's effect and records the event id in one
// transaction, so a redelivery of the same event changes nothing.
func Example() {
	var pool *pgxpool.Pool // the service's pool
	handler := func(ctx context.Context, m *bus.Message) error {
		return inbox.Process(ctx, pool, "identity-invite-accepted", m, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO users (id, email) VALUES ($1, $2)`, "u1", "kari@example.com")
			return err
		})
	}
	_ = bus.ConsumerConfig{Stream: bus.StreamInvitation, Durable: "identity-invite-accepted", Handler: handler}
}
