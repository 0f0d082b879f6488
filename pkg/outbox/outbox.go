package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"

	"rollcall.dev/pkg/bus"
)

// ErrInvalid is returned when an event cannot be appended as given.
var ErrInvalid = errors.New("outbox: invalid event")

// Record is what a use case appends: the protobuf event, the NATS subject it
// goes to, and the aggregate it belongs to (ordering is per aggregate).
type Record struct {
	Subject   string        // e.g. invitation.v1.<tenant>.invitation.<id>.invited
	Aggregate string        // e.g. invitation/<id>; also the CloudEvents subject
	Event     proto.Message // the event
}

// Appended reports what Append stored.
type Appended struct {
	OutboxID     int64
	EventID      string
	AggregateSeq int64
}

// Append writes rec to the outbox inside tx. source is the producing
// service (ce-source). The trace context of ctx is stored with the row so the
// relay's publish continues the same trace.
func Append(ctx context.Context, tx pgx.Tx, source string, rec Record) (Appended, error) {
	if rec.Event == nil || rec.Subject == "" || rec.Aggregate == "" {
		return Appended{}, fmt.Errorf("%w: event, subject and aggregate are required", ErrInvalid)
	}
	if err := bus.ValidSubject(rec.Subject); err != nil {
		return Appended{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	// A row no stream captures could never be published and would hold its
	// aggregate back for ever: refuse it while the use case can still fail.
	if _, ok := bus.StreamOf(rec.Subject); !ok {
		return Appended{}, fmt.Errorf("%w: no stream captures subject %q", ErrInvalid, rec.Subject)
	}
	ev, err := bus.NewEvent(source, rec.Subject, rec.Aggregate, rec.Event)
	if err != nil {
		return Appended{}, err
	}
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	headers, err := json.Marshal(carrier)
	if err != nil {
		return Appended{}, fmt.Errorf("outbox: headers: %w", err)
	}
	out := Appended{EventID: ev.ID}
	err = tx.QueryRow(ctx, `
WITH seq AS (
    INSERT INTO rollcall_outbox_aggregates (aggregate, last_seq) VALUES ($1, 1)
    ON CONFLICT (aggregate) DO UPDATE SET last_seq = rollcall_outbox_aggregates.last_seq + 1
    RETURNING last_seq
)
INSERT INTO rollcall_outbox (event_id, aggregate, aggregate_seq, subject, event_type, source, ce_subject, occurred_at, headers, payload)
SELECT $2, $1, seq.last_seq, $3, $4, $5, $1, $6, $7, $8 FROM seq
RETURNING id, aggregate_seq`,
		rec.Aggregate, ev.ID, ev.Subject, ev.Type, ev.Source, ev.Time, headers, ev.Data,
	).Scan(&out.OutboxID, &out.AggregateSeq)
	if err != nil {
		return Appended{}, fmt.Errorf("outbox: append %s: %w", ev.Type, err)
	}
	return out, nil
}
