package ports_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/testkit"
	integratorv1 "rollcall.dev/proto/gen/rollcall/integrator/v1"
	"rollcall.dev/services/identity/adapters/postgres"
	"rollcall.dev/services/identity/app"
	"rollcall.dev/services/identity/migrations"
	"rollcall.dev/services/identity/ports"
)

// FuzzIntegratorEvents sends any subject, event type, event id and payload
// through identity's one integrator-event consumer, which picks the handler
// by the subject's last token, against a real database. Nothing panics; a
// verb identity does not handle, a type that is not the verb's event, a
// message without a usable event id (none, or one Postgres cannot store), and a
// payload that does not decode or validate are refused for good
// (dead-lettered); what reaches the use case ends applied, refused for good
// or waiting for what it depends on (ErrNotYet) — never retried for an
// input it can never apply.
func FuzzIntegratorEvents(f *testing.F) {
	testkit.RequirePostgres(f)
	pool := testkit.NewDB(f, migrations.FS)
	svc := &app.Service{Store: postgres.New(pool, "/rollcall/identity"), Log: slog.New(slog.DiscardHandler)}
	h := ports.IntegratorEvents(svc).Handler

	tenant, user, inv, by := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	ref := &integratorv1.IntegratorRef{UserId: user, PartnerId: uuid.NewString(), Email: "dev@integra.example"}
	at := timestamppb.Now()
	typeOfVerb := map[string]string{}
	for verb, ev := range map[string]proto.Message{
		"replaced": &integratorv1.IntegratorReplaced{TenantId: tenant, OccurredAt: at, PreviousIntegrator: ref,
			NewIntegrator: &integratorv1.IncomingIntegrator{InvitationId: inv, PartnerId: ref.GetPartnerId(), Email: "new@integra.example"}},
		"dismissed": &integratorv1.IntegratorDismissed{TenantId: tenant, OccurredAt: at, Integrator: ref,
			DismissedByUserId: &by, Reason: integratorv1.DismissalReason_DISMISSAL_REASON_ADMIN},
		"assigned": &integratorv1.IntegratorAssigned{TenantId: tenant, OccurredAt: at, Integrator: ref, InvitationId: inv},
	} {
		data, err := proto.Marshal(ev)
		if err != nil {
			f.Fatal(err)
		}
		typeOfVerb[verb] = bus.TypeOf(ev)
		subject := "integrator.v1." + tenant + ".integrator." + user + "." + verb
		f.Add(subject, bus.TypeOf(ev), uuid.NewString(), data)
		f.Add(subject, bus.TypeOf(ev), "", data)
		f.Add(subject, bus.TypeOf(ev), "id\x00", data)
		f.Add(subject+"x", bus.TypeOf(ev), uuid.NewString(), data)
		f.Add(strings.TrimSuffix(subject, verb)+"denied", bus.TypeOf(ev), uuid.NewString(), data)
		f.Add(verb, bus.TypeOf(ev), uuid.NewString(), data)
		f.Add(subject, "rollcall.integrator.v1.ActionDenied", uuid.NewString(), data)
		f.Add(subject, bus.TypeOf(ev), uuid.NewString(), data[:len(data)/2])
	}
	f.Add("", "", "", []byte(nil))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, subject, typ, id string, data []byte) {
		err := h(ctx, &bus.Message{Subject: subject, Type: typ, ID: id, Data: data})
		verb := subject[strings.LastIndexByte(subject, '.')+1:]
		want, handled := typeOfVerb[verb]
		switch {
		case !handled || (typ != "" && typ != want): // no type header: the payload decides
			if !bus.IsPermanent(err) {
				t.Fatalf("subject %q, type %q: %v; want a permanent refusal", subject, typ, err)
			}
		case err != nil && !bus.IsPermanent(err) && !errors.Is(err, app.ErrNotYet):
			t.Fatalf("subject %q, type %q, id %q: %v is retried, though no retry can apply it", subject, typ, id, err)
		}
	})
}
