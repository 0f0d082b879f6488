package platform_test

import (
	"context"
	"embed"
	"io/fs"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/platform"
	"rollcall.dev/pkg/server"
	"rollcall.dev/proto/gen/rollcall/invitation/v1/invitationv1connect"
)

var exampleMigrations embed.FS // //go:embed migrations/*.sql in a real service

// exampleModule is the shape of a service module: its migrations, its
// Connect handler (with the platform's validation and tracing options), and
// its consumers.
type exampleModule struct{}

func (exampleModule) Name() string      { return "invitation" }
func (exampleModule) Migrations() fs.FS { return exampleMigrations }

func (exampleModule) Build(_ context.Context, d platform.Deps) (*platform.Component, error) {
	path, h := invitationv1connect.NewInvitationServiceHandler(invitationv1connect.UnimplementedInvitationServiceHandler{}, d.HandlerOptions...)
	return &platform.Component{
		Handlers:     []server.Handler{{Path: path, Handler: h}},
		ServiceNames: []string{invitationv1connect.InvitationServiceName},
		Consumers: []bus.ConsumerConfig{{
			Stream: bus.StreamIntegrator, Durable: "invitation-integrator-replaced",
			Handler: func(context.Context, *bus.Message) error { return nil },
		}},
	}, nil
}

// A service binary's realMain: read the environment, set up telemetry, run
// the module until SIGTERM.
func ExampleServeOne() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a real main passes its signal context
	_ = platform.ServeOne(ctx, exampleModule{})
}
