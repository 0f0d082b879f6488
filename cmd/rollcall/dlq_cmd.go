package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"rollcall.dev/pkg/bus"
)

// dlqCmd is the operator's view of the DEADLETTER stream, straight from
// NATS: what was parked and why, and replaying a message once its cause is
// fixed. It uses pkg/bus's ListDeadLetters, GetDeadLetter and Replay.
type dlqCmd struct {
	List    dlqListCmd    `cmd:"" default:"withargs" help:"List the dead letters, oldest first."`
	Inspect dlqInspectCmd `cmd:"" help:"Show one dead letter: why it was parked, its headers and its payload decoded."`
	Replay  dlqReplayCmd  `cmd:"" help:"Publish dead letters again to their original subjects (same event id, so inboxes still de-duplicate) and remove them."`
	Discard dlqDiscardCmd `cmd:"" help:"Remove dead letters for good without publishing them (a message nothing will ever apply); needs --yes."`
}

// natsFlags find the NATS server: --nats, else the one `rollcall dev`
// runs (its URL kept in <data-dir>/nats.url).
type natsFlags struct {
	NATS    string `name:"nats" aliases:"nats-url" env:"NATS_URL" help:"NATS server URL (default: the dev stack's, read from <data-dir>/nats.url)."`
	Creds   string `name:"nats-credentials" env:"NATS_CREDENTIALS" help:"NATS .creds file, if the server needs one."`
	DataDir string `name:"data-dir" env:"ROLLCALL_DATA_DIR" default:".rollcall" help:"The data dir of 'rollcall dev'."`
	JSON    bool   `name:"json" help:"Print one JSON document instead of text."`

	out io.Writer
}

func (n *natsFlags) w() io.Writer {
	if n.out == nil {
		return os.Stdout
	}
	return n.out
}

func (n *natsFlags) url() (string, error) {
	if n.NATS != "" {
		return n.NATS, nil
	}
	b, err := os.ReadFile(filepath.Join(n.DataDir, "nats.url"))
	if err != nil {
		return "", fmt.Errorf("no --nats, and %s cannot be read (is 'rollcall dev' running with --data-dir %s?)", filepath.Join(n.DataDir, "nats.url"), n.DataDir)
	}
	return strings.TrimSpace(string(b)), nil
}

// connect opens the NATS connection and JetStream; close the connection.
func (n *natsFlags) connect(name string) (*nats.Conn, jetstream.JetStream, error) {
	url, err := n.url()
	if err != nil {
		return nil, nil, err
	}
	opts := []nats.Option{nats.Name(name), nats.Timeout(5 * time.Second)}
	if n.Creds != "" {
		opts = append(opts, nats.UserCredentials(n.Creds))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach NATS at %s (is 'rollcall dev' running? --nats names another): %w", url, err)
	}
	js, err := bus.NewJetStream(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// deadLetterJSON is a dead letter as --json prints it; the payload is
// decoded by its ce-type, like `rollcall events`.
type deadLetterJSON struct {
	Seq             uint64            `json:"seq"`
	Reason          string            `json:"reason"`
	OriginalSubject string            `json:"originalSubject"`
	OriginalStream  string            `json:"originalStream"`
	OriginalSeq     uint64            `json:"originalSeq"`
	Consumer        string            `json:"consumer"`
	Deliveries      uint64            `json:"deliveries"`
	EventID         string            `json:"eventId"`
	EventType       string            `json:"eventType"`
	ParkedAt        string            `json:"parkedAt,omitempty"`
	Traceparent     string            `json:"traceparent,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	Data            json.RawMessage   `json:"data"`
}

func deadLetterView(d bus.DeadLetter, withHeaders bool) deadLetterJSON {
	v := deadLetterJSON{
		Seq: d.Seq, Reason: d.Reason, OriginalSubject: d.OriginalSubject, OriginalStream: d.OriginalStream, OriginalSeq: d.OriginalSeq,
		Consumer: d.Consumer, Deliveries: d.Deliveries, EventID: d.EventID, EventType: d.EventType,
		Traceparent: bus.HeaderCarrier(d.Header).Get("traceparent"), Data: decode(d.EventType, d.Data),
	}
	if !d.ParkedAt.IsZero() {
		v.ParkedAt = d.ParkedAt.UTC().Format(time.RFC3339Nano)
	}
	if withHeaders {
		v.Headers = map[string]string{}
		for k, vs := range d.Header {
			v.Headers[k] = strings.Join(vs, ", ")
		}
	}
	return v
}

// noDeadLetterStream says whether err is the DEADLETTER stream missing,
// which means nothing was ever parked (the services create it at start).
func noDeadLetterStream(err error) bool { return errors.Is(err, jetstream.ErrStreamNotFound) }

type dlqListCmd struct {
	natsFlags `embed:""`
	From      uint64 `name:"from" default:"1" help:"Start at this DEADLETTER sequence."`
	Limit     int    `name:"limit" default:"100" help:"At most this many."`
	Stream    string `name:"stream" help:"Only dead letters from this stream (e.g. INVITATION)."`
	Consumer  string `name:"consumer" help:"Only dead letters of this consumer."`
}

func (c *dlqListCmd) Run(ctx context.Context) error {
	nc, js, err := c.connect("rollcall dlq")
	if err != nil {
		return err
	}
	defer nc.Close()
	dls, err := listDeadLetters(ctx, js, c.From, c.Limit, c.Stream, c.Consumer)
	if err != nil {
		return err
	}
	if c.JSON {
		out := struct {
			DeadLetters []deadLetterJSON `json:"deadLetters"`
		}{DeadLetters: []deadLetterJSON{}}
		for _, d := range dls {
			out.DeadLetters = append(out.DeadLetters, deadLetterView(d, false))
		}
		return writeJSONDoc(c.w(), out)
	}
	return printDeadLetters(c.w(), dls)
}

// listDeadLetters reads up to limit dead letters from seq from on that
// match the stream and consumer filters (empty matches all). A missing
// DEADLETTER stream is an empty list.
func listDeadLetters(ctx context.Context, js jetstream.JetStream, from uint64, limit int, stream, consumer string) ([]bus.DeadLetter, error) {
	var out []bus.DeadLetter
	for len(out) < limit {
		page, err := bus.ListDeadLetters(ctx, js, from, limit)
		if noDeadLetterStream(err) {
			return nil, nil
		}
		if err != nil {
			return out, err
		}
		for _, d := range page {
			if (stream == "" || strings.EqualFold(d.OriginalStream, stream)) && (consumer == "" || d.Consumer == consumer) && len(out) < limit {
				out = append(out, d)
			}
		}
		if len(page) < limit {
			return out, nil
		}
		from = page[len(page)-1].Seq + 1
	}
	return out, nil
}

func printDeadLetters(w io.Writer, dls []bus.DeadLetter) error {
	if len(dls) == 0 {
		_, err := fmt.Fprintln(w, "No dead letters.")
		return err
	}
	t := newTable(w, "SEQ", "PARKED", "FROM", "CONSUMER", "TYPE", "DELIVERIES", "REASON")
	for _, d := range dls {
		parked := ""
		if !d.ParkedAt.IsZero() {
			parked = d.ParkedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		t.row(fmt.Sprint(d.Seq), parked, fmt.Sprintf("%s #%d", d.OriginalStream, d.OriginalSeq), d.Consumer, d.EventType,
			fmt.Sprint(d.Deliveries), shorten(d.Reason, 100))
	}
	if err := t.flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "Next: rollcall dlq inspect <seq>; fix the cause, then rollcall dlq replay <seq>")
	return err
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func writeJSONDoc(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

type dlqInspectCmd struct {
	natsFlags `embed:""`
	Seq       uint64 `arg:"" name:"seq" help:"The dead letter's DEADLETTER sequence (rollcall dlq list)."`
}

func (c *dlqInspectCmd) Run(ctx context.Context) error {
	nc, js, err := c.connect("rollcall dlq")
	if err != nil {
		return err
	}
	defer nc.Close()
	d, err := bus.GetDeadLetter(ctx, js, c.Seq)
	if err != nil {
		return deadLetterError(c.Seq, err)
	}
	v := deadLetterView(d, true)
	if c.JSON {
		return writeJSONDoc(c.w(), v)
	}
	printDeadLetter(c.w(), v)
	return nil
}

func deadLetterError(seq uint64, err error) error {
	if errors.Is(err, bus.ErrDeadLetterNotFound) || noDeadLetterStream(err) {
		return fmt.Errorf("no dead letter #%d (replayed already, or never parked: rollcall dlq list)", seq)
	}
	return err
}

func printDeadLetter(w io.Writer, v deadLetterJSON) {
	t := newTable(w)
	t.row("  dead letter", fmt.Sprint(v.Seq))
	t.row("  reason", v.Reason)
	t.row("  parked", v.ParkedAt)
	t.row("  event", v.EventType+" "+v.EventID)
	t.row("  from", fmt.Sprintf("stream %s #%d, subject %s", v.OriginalStream, v.OriginalSeq, v.OriginalSubject))
	t.row("  consumer", fmt.Sprintf("%s, %d deliveries", v.Consumer, v.Deliveries))
	if v.Traceparent != "" {
		t.row("  traceparent", v.Traceparent)
	}
	_ = t.flush()
	keys := make([]string, 0, len(v.Headers))
	for k := range v.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(w, "  headers:")
	for _, k := range keys {
		fmt.Fprintf(w, "    %s: %s\n", k, v.Headers[k])
	}
	fmt.Fprintf(w, "  payload:\n    %s\n", v.Data)
}

type dlqReplayCmd struct {
	natsFlags `embed:""`
	Seqs      []uint64 `arg:"" name:"seq" help:"The dead letters' DEADLETTER sequences (rollcall dlq list)."`
}

func (c *dlqReplayCmd) Run(ctx context.Context) error {
	nc, js, err := c.connect("rollcall dlq")
	if err != nil {
		return err
	}
	defer nc.Close()
	type replayed struct {
		Seq     uint64 `json:"seq"`
		Type    string `json:"eventType"`
		EventID string `json:"eventId"`
		Subject string `json:"subject"`
	}
	out := struct {
		Replayed []replayed `json:"replayed"`
	}{Replayed: []replayed{}}
	w := c.w()
	for _, seq := range c.Seqs {
		d, err := bus.GetDeadLetter(ctx, js, seq)
		if err == nil {
			err = bus.Replay(ctx, js, seq)
		}
		if err != nil {
			if c.JSON {
				_ = writeJSONDoc(w, out)
			}
			return deadLetterError(seq, err)
		}
		out.Replayed = append(out.Replayed, replayed{Seq: seq, Type: d.EventType, EventID: d.EventID, Subject: d.OriginalSubject})
		if !c.JSON {
			fmt.Fprintf(w, "Replayed #%d: %s %s to %s; its consumers get it again (what they did already, they skip).\n",
				seq, d.EventType, d.EventID, d.OriginalSubject)
		}
	}
	if c.JSON {
		return writeJSONDoc(w, out)
	}
	return nil
}

type dlqDiscardCmd struct {
	natsFlags `embed:""`
	Seqs      []uint64 `arg:"" name:"seq" help:"The dead letters' DEADLETTER sequences (rollcall dlq list)."`
	Yes       bool     `name:"yes" help:"Really remove them: a discarded message is gone (inspect it first)."`
}

func (c *dlqDiscardCmd) Run(ctx context.Context) error {
	if !c.Yes {
		return errors.New("discarding removes the messages for good; read them first (rollcall dlq inspect N), then add --yes")
	}
	nc, js, err := c.connect("rollcall dlq")
	if err != nil {
		return err
	}
	defer nc.Close()
	type discarded struct {
		Seq     uint64 `json:"seq"`
		Type    string `json:"eventType"`
		EventID string `json:"eventId"`
		Reason  string `json:"reason"`
	}
	out := struct {
		Discarded []discarded `json:"discarded"`
	}{Discarded: []discarded{}}
	w := c.w()
	for _, seq := range c.Seqs {
		d, err := bus.Discard(ctx, js, seq)
		if err != nil {
			if c.JSON {
				_ = writeJSONDoc(w, out)
			}
			return deadLetterError(seq, err)
		}
		out.Discarded = append(out.Discarded, discarded{Seq: seq, Type: d.EventType, EventID: d.EventID, Reason: d.Reason})
		if !c.JSON {
			fmt.Fprintf(w, "Discarded #%d: %s %s (parked because: %s).\n", seq, d.EventType, d.EventID, d.Reason)
		}
	}
	if c.JSON {
		return writeJSONDoc(w, out)
	}
	return nil
}
