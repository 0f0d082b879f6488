package ports

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"rollcall.dev/pkg/bus"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/services/invitation/app"
)

// IntegratorReplacedSubjects is where integrator-policy publishes
// IntegratorReplaced: integrator.v1.<tenant>.integrator.<id>.replaced.
const IntegratorReplacedSubjects = "integrator.v1.*.integrator.*.replaced"

// IntegratorReplaced consumes integrator-policy's event (seed 003: inviting
// another integrator dismisses the current one) and revokes the tenant's
// other pending integrator invitations. Revoking is idempotent by state, so
// a redelivery changes nothing.
func IntegratorReplaced(svc *app.Service) bus.ConsumerConfig {
	return bus.ConsumerConfig{
		Stream:         bus.StreamIntegrator,
		Durable:        "invitation-integrator-replaced",
		FilterSubjects: []string{IntegratorReplacedSubjects},
		Handler: bus.Typed(func(ctx context.Context, _ *bus.Message, ev *integratorv1.IntegratorReplaced) error {
			return svc.IntegratorReplaced(ctx, ev.GetTenantId(), ev.GetNewIntegrator().GetInvitationId())
		}),
	}
}

// Sweeper expires live invitations past their lifetime, every Interval.
type Sweeper struct {
	App      *app.Service
	Interval time.Duration
	Log      *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs the sweep loop until Stop.
func (s *Sweeper) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return errors.New("sweeper already started")
	}
	if s.Interval <= 0 {
		s.Interval = time.Minute
	}
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.Interval)
		defer t.Stop()
		for {
			for {
				n, err := s.App.Sweep(ctx, 500)
				if err != nil && ctx.Err() == nil {
					s.Log.WarnContext(ctx, "invitation sweep failed", "error", err)
				}
				if n > 0 {
					s.Log.InfoContext(ctx, "invitations expired", "count", n)
				}
				if n < 500 || err != nil {
					break
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

// Stop ends the loop and waits; safe to call twice or before Start.
func (s *Sweeper) Stop(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		return nil
	}
	s.cancel()
	<-s.done
	return nil
}
