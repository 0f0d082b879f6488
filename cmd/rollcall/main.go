// Command rollcall is the operator CLI of Rollcall and its all-in-one
// development stack (`rollcall dev`).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

// cli is the command tree; commands grow with the service issues.
type cli struct {
	Dev    devCmd    `cmd:"" help:"Run the whole stack in one process: embedded NATS JetStream and all four services on one HTTP port."`
	Events eventsCmd `cmd:"" help:"Print the events in the streams, decoded (JSON with --json)."`
	Erpsim erpsimCmd `cmd:"" help:"Run the stand-in ERP (a development tool)."`
	Sync   syncCmd   `cmd:"" help:"Connect HR to the ERP, preview and apply synchronisations, follow runs (seed 004)."`

	Invite      inviteCmd      `cmd:"" help:"Invite people, integration users and integrators; list, show, resend and revoke invitations (seeds 000, 001, 003)."`
	Users       usersCmd       `cmd:"" help:"List and show the tenant's users."`
	ServiceUser serviceUserCmd `cmd:"" name:"service-user" help:"Create API-only service users and reset their passwords, printing the letter once; show or set their status (seed 002)."`
	Integrators integratorsCmd `cmd:"" help:"The tenant's integrator: show, dismiss, and the policy of how many may be active (seed 003)."`
	Partners    partnersCmd    `cmd:"" help:"The registry of certified partners (operator token): register, list, revoke."`
	DLQ         dlqCmd         `cmd:"" name:"dlq" help:"Dead letters, straight from NATS: list, inspect, replay."`
	Demo        demoCmd        `cmd:"" help:"Drive the five seed flows against a running 'rollcall dev' and print what happens, step by step."`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "rollcall: %v\n", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, args []string) error {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("rollcall"),
		kong.Description("Rollcall: the user-lifecycle backbone for business SaaS."),
		kong.UsageOnError(),
		kong.BindTo(ctx, (*context.Context)(nil)),
	)
	if err != nil {
		return err
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		return err
	}
	return kctx.Run()
}
