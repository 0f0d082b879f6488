package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Dead-letter headers, added to the original message's headers.
const (
	HeaderDLQReason     = "rollcall-dlq-reason"
	HeaderDLQSubject    = "rollcall-dlq-subject"
	HeaderDLQStream     = "rollcall-dlq-stream"
	HeaderDLQStreamSeq  = "rollcall-dlq-stream-seq"
	HeaderDLQConsumer   = "rollcall-dlq-consumer"
	HeaderDLQDeliveries = "rollcall-dlq-deliveries"
	HeaderDLQTime       = "rollcall-dlq-time"
)

// DeadLetterSubject is where a consumer's dead letters go.
func DeadLetterSubject(stream, consumer string) string {
	return DeadLetterPrefix + "." + Token(stream) + "." + Token(consumer)
}

type deadLetterer struct{ js jetstream.JetStream }

// send stores m on the dead-letter stream with the reason. The broker id is
// derived from the original stream position, so two replicas (or a retry)
// parking the same message store it once.
func (d *deadLetterer) send(ctx context.Context, stream, consumer string, m *Message, reason string) error {
	h := copyHeaders(m.Header)
	h.Set(HeaderDLQReason, reason)
	h.Set(HeaderDLQSubject, m.Subject)
	h.Set(HeaderDLQStream, stream)
	h.Set(HeaderDLQStreamSeq, strconv.FormatUint(m.StreamSeq, 10))
	h.Set(HeaderDLQConsumer, consumer)
	h.Set(HeaderDLQDeliveries, strconv.FormatUint(m.NumDelivered, 10))
	h.Set(HeaderDLQTime, time.Now().UTC().Format(time.RFC3339Nano))
	h.Set(HeaderMsgID, fmt.Sprintf("dlq:%s:%s:%d", stream, consumer, m.StreamSeq))
	_, err := d.js.PublishMsg(ctx, &nats.Msg{Subject: DeadLetterSubject(stream, consumer), Header: h, Data: m.Data})
	if err != nil {
		return fmt.Errorf("bus: dead-letter %s seq %d: %w", stream, m.StreamSeq, err)
	}
	metricDeadLettered.WithLabelValues(stream, consumer).Inc()
	return nil
}

// copyHeaders copies an event's headers, leaving out the broker's own
// (Nats-Msg-Id, and the Nats-Stream/-Sequence/-Subject/-Time-Stamp that a
// direct get adds): a copy is a new message to the broker.
func copyHeaders(src nats.Header) nats.Header {
	h := nats.Header{}
	for k, v := range src {
		if strings.HasPrefix(strings.ToLower(k), "nats-") {
			continue
		}
		h[k] = append([]string(nil), v...)
	}
	return h
}

func maxDeliveriesAdvisory(stream, consumer string) string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + stream + "." + consumer
}

type maxDeliveriesEvent struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

func (r *Runner) onMaxDeliveries(ctx context.Context, c *ConsumerConfig) nats.MsgHandler {
	return func(adv *nats.Msg) {
		var ev maxDeliveriesEvent
		if err := json.Unmarshal(adv.Data, &ev); err != nil || ev.StreamSeq == 0 {
			r.log.WarnContext(ctx, "unreadable max-deliveries advisory", "error", err)
			return
		}
		r.closingMu.Lock()
		if r.closing {
			r.closingMu.Unlock()
			return // the next runner to start picks it up from the stream
		}
		r.wg.Add(1)
		r.closingMu.Unlock()
		go func() {
			defer r.wg.Done()
			s, err := r.js.Stream(ctx, c.Stream)
			if err != nil {
				r.log.ErrorContext(ctx, "max deliveries: stream lookup failed", "stream", c.Stream, "error", err)
				return
			}
			raw, err := s.GetMsg(ctx, ev.StreamSeq)
			if err != nil {
				r.log.ErrorContext(ctx, "max deliveries: message lookup failed", "stream", c.Stream, "seq", ev.StreamSeq, "error", err)
				return
			}
			m := &Message{
				Subject: raw.Subject, Data: raw.Data, Header: raw.Header,
				Stream: c.Stream, StreamSeq: ev.StreamSeq, NumDelivered: ev.Deliveries,
				ID: HeaderCarrier(raw.Header).Get(HeaderID),
			}
			reason := fmt.Sprintf("not acknowledged after %d deliveries (handler timed out or its process stopped)", ev.Deliveries)
			if err := r.dlq.send(ctx, c.Stream, c.Durable, m, reason); err != nil {
				r.log.ErrorContext(ctx, "max deliveries: dead-letter failed", "error", err)
				return
			}
			r.log.WarnContext(ctx, "message dead-lettered", "stream", c.Stream, "consumer", c.Durable, "seq", ev.StreamSeq, "reason", reason)
		}()
	}
}

// DeadLetter is one parked message as an operator sees it.
type DeadLetter struct {
	Seq             uint64 // position in the DEADLETTER stream
	Reason          string
	OriginalSubject string
	OriginalStream  string
	OriginalSeq     uint64
	Consumer        string
	Deliveries      uint64
	EventID         string
	EventType       string
	ParkedAt        time.Time
	Data            []byte
	Header          nats.Header
}

func deadLetterFromRaw(raw *jetstream.RawStreamMsg) DeadLetter {
	h := HeaderCarrier(raw.Header)
	d := DeadLetter{
		Seq:             raw.Sequence,
		Reason:          h.Get(HeaderDLQReason),
		OriginalSubject: h.Get(HeaderDLQSubject),
		OriginalStream:  h.Get(HeaderDLQStream),
		Consumer:        h.Get(HeaderDLQConsumer),
		EventID:         h.Get(HeaderID),
		EventType:       h.Get(HeaderType),
		Data:            raw.Data,
		Header:          copyHeaders(raw.Header),
	}
	d.OriginalSeq, _ = strconv.ParseUint(h.Get(HeaderDLQStreamSeq), 10, 64)
	d.Deliveries, _ = strconv.ParseUint(h.Get(HeaderDLQDeliveries), 10, 64)
	d.ParkedAt, _ = time.Parse(time.RFC3339Nano, h.Get(HeaderDLQTime))
	return d
}

// GetDeadLetter reads one dead letter by its DEADLETTER stream sequence.
func GetDeadLetter(ctx context.Context, js jetstream.JetStream, seq uint64) (DeadLetter, error) {
	s, err := js.Stream(ctx, StreamDeadLetter)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("bus: dead-letter stream: %w", err)
	}
	raw, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return DeadLetter{}, fmt.Errorf("%w: seq %d", ErrDeadLetterNotFound, seq)
	}
	if err != nil {
		return DeadLetter{}, fmt.Errorf("bus: read dead letter %d: %w", seq, err)
	}
	return deadLetterFromRaw(raw), nil
}

// ListDeadLetters returns up to limit dead letters from sequence from on.
func ListDeadLetters(ctx context.Context, js jetstream.JetStream, from uint64, limit int) ([]DeadLetter, error) {
	s, err := js.Stream(ctx, StreamDeadLetter)
	if err != nil {
		return nil, fmt.Errorf("bus: dead-letter stream: %w", err)
	}
	if from == 0 {
		from = 1
	}
	var out []DeadLetter
	for len(out) < limit {
		raw, err := s.GetMsg(ctx, from, jetstream.WithGetMsgSubject(DeadLetterPrefix+".>"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("bus: list dead letters: %w", err)
		}
		out = append(out, deadLetterFromRaw(raw))
		from = raw.Sequence + 1
	}
	return out, nil
}

// Replay re-publishes a dead letter to its original subject with its original
// headers and event id (so consumers' inboxes still recognise it), under a new
// broker id so the duplicate window does not swallow it, then deletes it from
// the dead-letter stream.
func Replay(ctx context.Context, js jetstream.JetStream, seq uint64) error {
	d, err := GetDeadLetter(ctx, js, seq)
	if err != nil {
		return err
	}
	if d.OriginalSubject == "" {
		return fmt.Errorf("%w: dead letter %d has no original subject", ErrInvalidEvent, seq)
	}
	h := copyHeaders(d.Header)
	for _, k := range []string{HeaderDLQReason, HeaderDLQSubject, HeaderDLQStream, HeaderDLQStreamSeq, HeaderDLQConsumer, HeaderDLQDeliveries, HeaderDLQTime} {
		h.Del(k)
		delete(h, k)
	}
	h.Set(HeaderMsgID, fmt.Sprintf("%s:replay:%d", d.EventID, seq))
	if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: d.OriginalSubject, Header: h, Data: d.Data}); err != nil {
		return fmt.Errorf("bus: replay dead letter %d: %w", seq, err)
	}
	s, err := js.Stream(ctx, StreamDeadLetter)
	if err != nil {
		return fmt.Errorf("bus: dead-letter stream: %w", err)
	}
	if err := s.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("bus: delete replayed dead letter %d: %w", seq, err)
	}
	return nil
}

// Discard removes a dead letter for good without publishing it: for a
// message that can never be applied (a test event, a payload no version of
// the consumer will accept) once an operator has read it. It returns
// ErrDeadLetterNotFound when there is no such dead letter.
func Discard(ctx context.Context, js jetstream.JetStream, seq uint64) (DeadLetter, error) {
	d, err := GetDeadLetter(ctx, js, seq)
	if err != nil {
		return DeadLetter{}, err
	}
	s, err := js.Stream(ctx, StreamDeadLetter)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("bus: dead-letter stream: %w", err)
	}
	if err := s.DeleteMsg(ctx, seq); err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return DeadLetter{}, fmt.Errorf("%w: seq %d", ErrDeadLetterNotFound, seq)
		}
		return DeadLetter{}, fmt.Errorf("bus: discard dead letter %d: %w", seq, err)
	}
	return d, nil
}
