package bus

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"google.golang.org/protobuf/proto"
)

// CloudEvents binary-mode header names, and the other headers Rollcall sets.
const (
	HeaderSpecVersion = "ce-specversion"
	HeaderID          = "ce-id"
	HeaderType        = "ce-type"
	HeaderSource      = "ce-source"
	HeaderSubject     = "ce-subject"
	HeaderTime        = "ce-time"
	HeaderContentType = "content-type"
	HeaderMsgID       = jetstream.MsgIDHeader // "Nats-Msg-Id"

	ContentTypeProtobuf = "application/protobuf"
	specVersion         = "1.0"
)

// Event is one event ready to publish. Data is the protobuf encoding of the
// message whose full name is Type.
type Event struct {
	ID      string    // unique event id; also the broker de-duplication id
	Type    string    // protobuf full name, e.g. rollcall.hr.v1.FieldChanged
	Source  string    // producing service, e.g. /rollcall/sync
	Subject string    // NATS subject, e.g. hr.v1.<tenant>.employee.<id>.changed
	Topic   string    // CloudEvents subject: the aggregate, e.g. employee/<id>
	Time    time.Time // when it happened
	Data    []byte
	// Header carries extra headers (trace context captured earlier, e.g. by
	// the outbox). It may be nil.
	Header nats.Header
}

// NewEvent builds an Event for msg with a fresh time-ordered id.
func NewEvent(source, subject, topic string, msg proto.Message) (Event, error) {
	data, err := proto.Marshal(msg)
	if err != nil {
		return Event{}, fmt.Errorf("bus: marshal %T: %w", msg, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Event{}, fmt.Errorf("bus: event id: %w", err)
	}
	return Event{
		ID:      id.String(),
		Type:    TypeOf(msg),
		Source:  source,
		Subject: subject,
		Topic:   topic,
		Time:    time.Now().UTC(),
		Data:    data,
	}, nil
}

// TypeOf is the CloudEvents type Rollcall uses for a protobuf message.
func TypeOf(msg proto.Message) string { return string(msg.ProtoReflect().Descriptor().FullName()) }

func (e Event) validate() error {
	switch {
	case e.ID == "":
		return fmt.Errorf("%w: empty id", ErrInvalidEvent)
	case e.Type == "":
		return fmt.Errorf("%w: empty type", ErrInvalidEvent)
	}
	return ValidSubject(e.Subject)
}

// ValidSubject checks that s is a literal NATS subject: non-empty tokens, no
// wildcards, no white space, and nothing the server's file store calls a
// corrupt subject when it recovers (NUL, invalid UTF-8, U+FFFD).
func ValidSubject(s string) error {
	if s == "" || strings.ContainsAny(s, subjectUnsafe) || !utf8.ValidString(s) ||
		strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return fmt.Errorf("%w: bad subject %q", ErrInvalidEvent, s)
	}
	return nil
}

// Msg builds the NATS message for e: CloudEvents headers, Nats-Msg-Id and the
// trace context of ctx (which overrides any trace headers already in e.Header).
func (e Event) Msg(ctx context.Context) (*nats.Msg, error) {
	if err := e.validate(); err != nil {
		return nil, err
	}
	h := nats.Header{}
	for k, v := range e.Header {
		h[k] = append([]string(nil), v...)
	}
	h.Set(HeaderSpecVersion, specVersion)
	h.Set(HeaderID, e.ID)
	h.Set(HeaderType, e.Type)
	h.Set(HeaderSource, e.Source)
	if e.Topic != "" {
		h.Set(HeaderSubject, e.Topic)
	}
	t := e.Time
	if t.IsZero() {
		t = time.Now()
	}
	h.Set(HeaderTime, t.UTC().Format(time.RFC3339Nano))
	h.Set(HeaderContentType, ContentTypeProtobuf)
	h.Set(HeaderMsgID, e.ID)
	otel.GetTextMapPropagator().Inject(ctx, HeaderCarrier(h))
	return &nats.Msg{Subject: e.Subject, Header: h, Data: e.Data}, nil
}

// subjectUnsafe are the characters no subject token may hold: the
// separator's neighbours the server refuses (white space it splits on,
// wildcards) and those its file store calls corrupt (NUL, U+FFFD).
const subjectUnsafe = " \t\r\n\f*>\x00\uFFFD"

// Token makes s safe as one NATS subject token: dots, white space,
// wildcards, NUL and bytes that are not UTF-8 become underscores. Tenant
// and aggregate ids are UUIDs and pass unchanged.
func Token(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune { // invalid UTF-8 arrives as U+FFFD
		if r == '.' || strings.ContainsRune(subjectUnsafe, r) {
			return '_'
		}
		return r
	}, s)
}
