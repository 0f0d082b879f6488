package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"rollcall.dev/pkg/server"
	"rollcall.dev/pkg/telemetry"
)

func Example() {
	log := telemetry.NewLogger(io.Discard, slog.LevelInfo)

	// In a service: opts, _ := server.HandlerOptions(), then
	// path, h := invitationv1connect.NewInvitationServiceHandler(svc, opts...)
	// and pass []server.Handler{{path, h}} and the service name constant.
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0"}, log, nil, nil, []server.Check{
		{Name: "postgres", Fn: func(ctx context.Context) error { return nil /* pool.Ping(ctx) */ }},
	})
	if err != nil {
		panic(err)
	}
	if err := srv.Listen(); err != nil { // binds now, so Addr has the real port
		panic(err)
	}

	ctx, stop := context.WithCancel(context.Background()) // signal.NotifyContext in main
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	res, err := http.Get("http://" + srv.Addr() + "/readyz")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Print(res.StatusCode, " ", string(body))

	stop()
	fmt.Println("serve returned:", <-done)
	// Output:
	// 200 {"status":"ready","checks":{"postgres":"ok"}}
	// serve returned: <nil>
}
