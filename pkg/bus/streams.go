package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream names, one per bounded context, and the dead-letter stream.
const (
	StreamInvitation = "INVITATION"
	StreamIdentity   = "IDENTITY"
	StreamIntegrator = "INTEGRATOR"
	StreamHR         = "HR"
	StreamSync       = "SYNC"
	StreamDeadLetter = "DEADLETTER"

	// DeadLetterPrefix is the subject prefix of dead letters:
	// deadletter.<stream>.<consumer>.
	DeadLetterPrefix = "deadletter"
)

// StreamSpec is a stream and the subjects it captures.
type StreamSpec struct {
	Name     string
	Subjects []string
}

// Streams is the stream layout of the design.
var Streams = []StreamSpec{
	{Name: StreamInvitation, Subjects: []string{"invitation.v1.>"}},
	{Name: StreamIdentity, Subjects: []string{"identity.v1.>"}},
	{Name: StreamIntegrator, Subjects: []string{"integrator.v1.>"}},
	{Name: StreamHR, Subjects: []string{"hr.v1.>"}},
	{Name: StreamSync, Subjects: []string{"sync.v1.>"}},
	{Name: StreamDeadLetter, Subjects: []string{DeadLetterPrefix + ".>"}},
}

// StreamOptions tune every stream EnsureStreams creates.
type StreamOptions struct {
	Replicas        int           // default 1; 3 in production
	MaxAge          time.Duration // default 30 days
	DuplicateWindow time.Duration // default 2 minutes
}

// PublishAckTimeout bounds how long an async publish waits for the
// stream's ack; without it a lost ack (or a publish buffered while the client
// reconnects) would wait for ever.
const PublishAckTimeout = 10 * time.Second

// NewJetStream is jetstream.New with Rollcall's settings.
func NewJetStream(nc *nats.Conn) (jetstream.JetStream, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(PublishAckTimeout))
	if err != nil {
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	return js, nil
}

// EnsureStreams creates every stream in Streams that does not exist yet,
// file-backed. It never changes an existing stream: limits an operator set
// stay as they are, and replicas started with other settings do not fight
// over them. It returns one line per setting that differs from what it would
// create, for the caller to log.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, o StreamOptions) ([]string, error) {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 30 * 24 * time.Hour
	}
	if o.DuplicateWindow <= 0 {
		o.DuplicateWindow = 2 * time.Minute
	}
	var drift []string
	for _, s := range Streams {
		want := jetstream.StreamConfig{
			Name:        s.Name,
			Subjects:    s.Subjects,
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			Replicas:    o.Replicas,
			MaxAge:      o.MaxAge,
			Duplicates:  o.DuplicateWindow,
			Discard:     jetstream.DiscardOld,
			AllowDirect: true,
		}
		if s.Name == StreamDeadLetter {
			// Dead letters wait for an operator; keep them longer and let
			// Replay delete the ones it has re-published.
			want.MaxAge = 4 * o.MaxAge
		}
		stream, err := js.Stream(ctx, s.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			_, err = js.CreateStream(ctx, want)
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				continue // another replica created it first
			}
			if err != nil {
				return drift, fmt.Errorf("bus: create stream %s: %w", s.Name, err)
			}
			continue
		}
		if err != nil {
			return drift, fmt.Errorf("bus: stream %s: %w", s.Name, err)
		}
		have := stream.CachedInfo().Config
		if !slices.Equal(have.Subjects, want.Subjects) {
			drift = append(drift, fmt.Sprintf("stream %s captures %v, expected %v", s.Name, have.Subjects, want.Subjects))
		}
		if have.Storage != want.Storage {
			drift = append(drift, fmt.Sprintf("stream %s uses %s storage, expected file", s.Name, have.Storage))
		}
		if have.Replicas != want.Replicas {
			drift = append(drift, fmt.Sprintf("stream %s has %d replicas, STREAM_REPLICAS says %d", s.Name, have.Replicas, want.Replicas))
		}
		if have.Duplicates < want.Duplicates {
			drift = append(drift, fmt.Sprintf("stream %s de-duplicates over %s, less than %s", s.Name, have.Duplicates, want.Duplicates))
		}
	}
	return drift, nil
}

// StreamOf names the stream that captures subject; ok is false when none does
// (a publish there would fail with no responders).
func StreamOf(subject string) (name string, ok bool) {
	name = streamOfSubject(subject)
	return name, name != "unknown"
}
