package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"rollcall.dev/pkg/bus"
	// Every event type, so payloads can be decoded by their ce-type.
	_ "rollcall.dev/proto/gen/rollcall/hr/v1"
	_ "rollcall.dev/proto/gen/rollcall/identity/v1"
	_ "rollcall.dev/proto/gen/rollcall/integrator/v1"
	_ "rollcall.dev/proto/gen/rollcall/invitation/v1"
	_ "rollcall.dev/proto/gen/rollcall/sync/v1"
)

// eventsCmd prints the events in the streams, decoded from protobuf.
type eventsCmd struct {
	NATSURL string        `name:"nats-url" env:"NATS_URL" help:"NATS server (default: the one 'rollcall dev' runs, read from <data-dir>/nats.url)."`
	Creds   string        `name:"nats-credentials" env:"NATS_CREDENTIALS" help:"NATS .creds file, if the server needs one."`
	DataDir string        `name:"data-dir" env:"ROLLCALL_DATA_DIR" default:".rollcall" help:"The data dir of 'rollcall dev'."`
	Streams []string      `name:"stream" help:"Streams to read, repeatable (default: every Rollcall stream but DEADLETTER)."`
	Subject string        `name:"subject" help:"Only subjects matching this NATS filter, e.g. 'invitation.v1.*.invitation.*.accepted'."`
	Last    int           `name:"last" default:"0" help:"Only the last N events of each stream (0: all)."`
	Follow  bool          `name:"follow" short:"f" help:"Keep printing new events until Ctrl-C."`
	JSON    bool          `name:"json" help:"One JSON object per line."`
	Wait    time.Duration `name:"wait" default:"1s" hidden:"" help:"How long to wait for more when not following."`
}

func (e *eventsCmd) Run(ctx context.Context) error {
	url, err := e.natsURL()
	if err != nil {
		return err
	}
	opts := []nats.Option{nats.Name("rollcall events")}
	if e.Creds != "" {
		opts = append(opts, nats.UserCredentials(e.Creds))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	defer nc.Close()
	js, err := bus.NewJetStream(nc)
	if err != nil {
		return err
	}
	streams := e.Streams
	if len(streams) == 0 {
		for _, s := range bus.Streams {
			if s.Name != bus.StreamDeadLetter {
				streams = append(streams, s.Name)
			}
		}
	}
	return printEvents(ctx, js, os.Stdout, streams, e)
}

func (e *eventsCmd) natsURL() (string, error) {
	if e.NATSURL != "" {
		return e.NATSURL, nil
	}
	b, err := os.ReadFile(filepath.Join(e.DataDir, "nats.url"))
	if err != nil {
		return "", fmt.Errorf("no --nats-url and no %s (is 'rollcall dev' running here?)", filepath.Join(e.DataDir, "nats.url"))
	}
	return strings.TrimSpace(string(b)), nil
}

// printed is one event as --json prints it.
type printed struct {
	Stream  string          `json:"stream"`
	Seq     uint64          `json:"seq"`
	Subject string          `json:"subject"`
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Time    string          `json:"time"`
	Data    json.RawMessage `json:"data"`
}

func printEvents(ctx context.Context, js jetstream.JetStream, w io.Writer, streams []string, e *eventsCmd) error {
	type source struct {
		name string
		cons jetstream.Consumer
	}
	var srcs []source
	for _, name := range streams {
		cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
		if e.Subject != "" {
			cfg.FilterSubjects = []string{e.Subject}
		}
		if e.Last > 0 {
			info, err := js.Stream(ctx, name)
			if err != nil {
				return fmt.Errorf("stream %s: %w", name, err)
			}
			st, err := info.Info(ctx)
			if err != nil {
				return fmt.Errorf("stream %s: %w", name, err)
			}
			if st.State.LastSeq > uint64(e.Last) {
				cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
				cfg.OptStartSeq = st.State.LastSeq - uint64(e.Last) + 1
			}
		}
		c, err := js.OrderedConsumer(ctx, name, cfg)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("stream %s does not exist (yet): the services create it when they start", name)
		}
		if err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
		srcs = append(srcs, source{name, c})
	}
	idle := 0
	for {
		got := 0
		for _, s := range srcs {
			batch, err := s.cons.FetchNoWait(256)
			if err != nil {
				return fmt.Errorf("stream %s: %w", s.name, err)
			}
			for m := range batch.Messages() {
				got++
				if err := printOne(w, s.name, m, e.JSON); err != nil {
					return err
				}
			}
			if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
				return fmt.Errorf("stream %s: %w", s.name, err)
			}
		}
		if got > 0 {
			idle = 0
			continue
		}
		// Without --follow, stop after one more empty look, a moment later
		// (so events still in flight land).
		idle++
		if !e.Follow && idle > 1 {
			return nil
		}
		pause := e.Wait
		if e.Follow {
			pause = 250 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
	}
}

func printOne(w io.Writer, stream string, m jetstream.Msg, asJSON bool) error {
	meta, _ := m.Metadata()
	var seq uint64
	var at time.Time
	if meta != nil {
		seq, at = meta.Sequence.Stream, meta.Timestamp
	}
	h := bus.HeaderCarrier(m.Headers())
	typ := h.Get(bus.HeaderType)
	data := decode(typ, m.Data())
	if asJSON {
		b, err := json.Marshal(printed{Stream: stream, Seq: seq, Subject: m.Subject(), Type: typ, ID: h.Get(bus.HeaderID), Time: at.UTC().Format(time.RFC3339Nano), Data: data})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(w, "%s  %-10s #%-5d %s  %s\n    %s\n", at.UTC().Format("15:04:05.000"), stream, seq, typ, m.Subject(), data)
	return err
}

// decode renders a payload as JSON by its ce-type; unknown or broken
// payloads are shown as such rather than stopping the listing.
func decode(typ string, payload []byte) json.RawMessage {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(typ))
	if err != nil {
		b, _ := json.Marshal(map[string]any{"undecoded": fmt.Sprintf("%d bytes of unknown type %q", len(payload), typ)})
		return b
	}
	msg := mt.New().Interface()
	if err := proto.Unmarshal(payload, msg); err != nil {
		b, _ := json.Marshal(map[string]any{"undecoded": fmt.Sprintf("%d bytes that do not decode as %s: %v", len(payload), typ, err)})
		return b
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(msg)
	if err != nil {
		b, _ = json.Marshal(map[string]any{"undecoded": err.Error()})
	}
	return b
}
