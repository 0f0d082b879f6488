package bus

import (
	"context"
	"fmt"
	"time"

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

// EnsureStreams creates or updates every stream in Streams, file-backed.
// It is safe to call from every replica at start-up.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, o StreamOptions) error {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 30 * 24 * time.Hour
	}
	if o.DuplicateWindow <= 0 {
		o.DuplicateWindow = 2 * time.Minute
	}
	for _, s := range Streams {
		cfg := jetstream.StreamConfig{
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
			cfg.MaxAge = 4 * o.MaxAge
		}
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("bus: ensure stream %s: %w", s.Name, err)
		}
	}
	return nil
}
