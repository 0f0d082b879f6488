// Package inbox makes a consumer's effect happen once per event.
//
// A consumer calls Process inside the transaction that applies the event's
// effect; the event id is recorded there, so a redelivered event (after a
// crash before the ack, or a republish outside the broker's duplicate window)
// finds its id and is skipped. It is not a message store: only ids are kept,
// and old ones are pruned after a retention far longer than any redelivery.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/pgdb"
)

// ErrNoEventID is returned for a message without a usable event id (none,
// or one Postgres cannot store: NUL, not UTF-8): it cannot be
// de-duplicated, so it must not be applied.
var ErrNoEventID = errors.New("inbox: message has no event id")

func usableID(id string) bool {
	return id != "" && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}

// Claim records eventID for consumer inside tx. It returns false when the
// event was already processed, in which case the caller must skip the effect
// (and still commit or roll back; either is harmless).
func Claim(ctx context.Context, tx pgx.Tx, consumer, eventID string) (bool, error) {
	if !usableID(eventID) {
		return false, ErrNoEventID
	}
	tag, err := tx.Exec(ctx, `INSERT INTO rollcall_inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, consumer, eventID)
	if err != nil {
		return false, fmt.Errorf("inbox: claim %s/%s: %w", consumer, eventID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Process runs effect in a transaction together with the claim of m's event
// id. A duplicate returns nil without running effect. An error from effect
// rolls back both, so the event is retried.
func Process(ctx context.Context, db pgdb.Beginner, consumer string, m *bus.Message, effect func(tx pgx.Tx) error) error {
	if !usableID(m.ID) {
		return bus.Permanent(ErrNoEventID)
	}
	return pgdb.InTx(ctx, db, func(tx pgx.Tx) error {
		first, err := Claim(ctx, tx, consumer, m.ID)
		if err != nil || !first {
			return err
		}
		return effect(tx)
	})
}

// Prune deletes processed ids older than retention.
func Prune(ctx context.Context, q pgdb.Querier, retention time.Duration) (int64, error) {
	tag, err := q.Exec(ctx, `DELETE FROM rollcall_inbox WHERE processed_at < now() - make_interval(secs => $1)`, retention.Seconds())
	if err != nil {
		return 0, fmt.Errorf("inbox: prune: %w", err)
	}
	return tag.RowsAffected(), nil
}
