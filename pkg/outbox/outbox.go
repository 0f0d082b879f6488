package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
	p, err := prepare(ctx, source, rec)
	if err != nil {
		return Appended{}, err
	}
	out := Appended{EventID: p.ev.ID}
	err = tx.QueryRow(ctx, `
WITH seq AS (
    INSERT INTO rollcall_outbox_aggregates (aggregate, last_seq) VALUES ($1, 1)
    ON CONFLICT (aggregate) DO UPDATE SET last_seq = rollcall_outbox_aggregates.last_seq + 1
    RETURNING last_seq
)
INSERT INTO rollcall_outbox (event_id, aggregate, aggregate_seq, subject, event_type, source, ce_subject, occurred_at, headers, payload)
SELECT $2, $1, seq.last_seq, $3, $4, $5, $1, $6, $7, $8 FROM seq
RETURNING id, aggregate_seq`,
		rec.Aggregate, p.ev.ID, p.ev.Subject, p.ev.Type, p.ev.Source, p.ev.Time, p.headers, p.ev.Data,
	).Scan(&out.OutboxID, &out.AggregateSeq)
	if err != nil {
		return Appended{}, fmt.Errorf("outbox: append %s: %w", p.ev.Type, err)
	}
	return out, nil
}

// prepared is a record checked and built into its event and stored headers.
type prepared struct {
	ev      bus.Event
	headers []byte
}

// prepare checks rec and builds its event, with the trace context of ctx.
func prepare(ctx context.Context, source string, rec Record) (prepared, error) {
	if rec.Event == nil || rec.Subject == "" || rec.Aggregate == "" {
		return prepared{}, fmt.Errorf("%w: event, subject and aggregate are required", ErrInvalid)
	}
	if err := bus.ValidSubject(rec.Subject); err != nil {
		return prepared{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	// A row no stream captures could never be published and would hold its
	// aggregate back for ever: refuse it while the use case can still fail.
	if _, ok := bus.StreamOf(rec.Subject); !ok {
		return prepared{}, fmt.Errorf("%w: no stream captures subject %q", ErrInvalid, rec.Subject)
	}
	ev, err := bus.NewEvent(source, rec.Subject, rec.Aggregate, rec.Event)
	if err != nil {
		return prepared{}, err
	}
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	headers, err := json.Marshal(carrier)
	if err != nil {
		return prepared{}, fmt.Errorf("outbox: headers: %w", err)
	}
	return prepared{ev: ev, headers: headers}, nil
}

// AppendBatch writes recs to the outbox inside tx in one statement (one
// round trip however many there are), exactly as Append would one after
// the other: each aggregate's sequence rises by one per event in the order
// of recs, outbox ids follow that order, and the aggregates' rows are
// locked (in aggregate order, so two batches never deadlock on them) until
// commit. Nothing is written when any record is invalid. The answers are
// in the order of recs.
func AppendBatch(ctx context.Context, tx pgx.Tx, source string, recs []Record) ([]Appended, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	q, err := QueueAppendBatch(ctx, b, source, recs)
	if err != nil {
		return nil, err
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return q.Appended(), nil
}

// Queued is an AppendBatch queued on a pgx.Batch; its answers are there
// once the batch has run.
type Queued struct {
	out []Appended
	ran bool
}

// Appended returns what was stored, in the order of the records; nil until
// the batch has run without error.
func (q *Queued) Appended() []Appended {
	if q == nil || !q.ran {
		return nil
	}
	return q.out
}

// QueueAppendBatch queues AppendBatch's statement on b instead of running
// it, for a caller that sends its state change in the same round trip. b
// must run inside the transaction that makes the state change: an explicit
// one, or the implicit transaction of a pipelined batch sent outside one
// (pgx's SendBatch on a pool), which Postgres commits or rolls back as a
// whole. An error from the statement fails b's Close.
func QueueAppendBatch(ctx context.Context, b *pgx.Batch, source string, recs []Record) (*Queued, error) {
	q := &Queued{out: make([]Appended, len(recs))}
	if len(recs) == 0 {
		q.ran = true
		return q, nil
	}
	var (
		ids, aggs, subjects, types, headers = make([]string, len(recs)), make([]string, len(recs)), make([]string, len(recs)), make([]string, len(recs)), make([]string, len(recs))
		times                               = make([]time.Time, len(recs))
		payloads                            = make([][]byte, len(recs))
		at                                  = make(map[string]int, len(recs))
	)
	for i, rec := range recs {
		p, err := prepare(ctx, source, rec)
		if err != nil {
			return nil, err
		}
		ids[i], aggs[i], subjects[i], types[i], headers[i] = p.ev.ID, rec.Aggregate, p.ev.Subject, p.ev.Type, string(p.headers)
		times[i], payloads[i] = p.ev.Time, p.ev.Data
		q.out[i].EventID = p.ev.ID
		at[p.ev.ID] = i
	}
	b.Queue(appendBatchSQL, ids, aggs, subjects, types, times, headers, payloads, source).Query(func(rows pgx.Rows) error {
		n := 0
		for rows.Next() {
			var (
				id, seq int64
				eventID string
			)
			if err := rows.Scan(&id, &eventID, &seq); err != nil {
				return fmt.Errorf("outbox: append batch: %w", err)
			}
			i, ok := at[eventID]
			if !ok {
				return fmt.Errorf("outbox: append batch: unexpected event id %q returned", eventID)
			}
			q.out[i].OutboxID, q.out[i].AggregateSeq = id, seq
			n++
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("outbox: append batch of %d: %w", len(recs), err)
		}
		if n != len(recs) {
			return fmt.Errorf("outbox: append batch: %d rows stored for %d events", n, len(recs))
		}
		q.ran = true
		return nil
	})
	return q, nil
}

// appendBatchSQL numbers the events of each aggregate after its last
// sequence, in input order: the aggregates' rows are bumped once each by
// their count (an upsert may not touch a row twice), in aggregate order;
// each event's sequence is the aggregate's new last one minus its count,
// plus its rank within the aggregate. Rows are inserted in input order, so
// their ids rise with the sequence within an aggregate, as the relay
// expects.
const appendBatchSQL = `
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::bytea[])
        WITH ORDINALITY AS t(event_id, aggregate, subject, event_type, occurred_at, headers, payload, ord)
), counts AS (
    SELECT aggregate, count(*) AS n FROM input GROUP BY aggregate
), seq AS (
    INSERT INTO rollcall_outbox_aggregates AS a (aggregate, last_seq)
    SELECT aggregate, n FROM counts ORDER BY aggregate
    ON CONFLICT (aggregate) DO UPDATE SET last_seq = a.last_seq + EXCLUDED.last_seq
    RETURNING a.aggregate, a.last_seq
)
INSERT INTO rollcall_outbox (event_id, aggregate, aggregate_seq, subject, event_type, source, ce_subject, occurred_at, headers, payload)
SELECT i.event_id, i.aggregate, s.last_seq - c.n + row_number() OVER (PARTITION BY i.aggregate ORDER BY i.ord),
       i.subject, i.event_type, $8, i.aggregate, i.occurred_at, i.headers::jsonb, i.payload
FROM input i JOIN counts c USING (aggregate) JOIN seq s USING (aggregate)
ORDER BY i.ord
RETURNING id, event_id, aggregate_seq`
