// Command publish is a runnable example of an HR system publishing
// FieldChanged to Rollcall: it connects to NATS, builds the event, and
// publishes it on hr.v1.<tenant>.employee.<id>.changed with the CloudEvents
// headers and a Nats-Msg-Id equal to the event id.
//
//	go run ./services/sync/examples/publish -nats "$(cat .rollcall/nats.url)" \
//	  -tenant 0b7f8a3e-4a5c-4e8f-9a51-3c1f2d9e7a10 -employee emp-42 -version 1 \
//	  -op created -email kari@example.com -given Kari -family Nordmann -city Oslo -country NO
//
// It is an example, not a tool Rollcall needs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := realMain(ctx, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "publish: %v\n", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	var (
		natsURL  = fs.String("nats", nats.DefaultURL, "NATS URL")
		tenant   = fs.String("tenant", "", "tenant id (lowercase UUID)")
		employee = fs.String("employee", "", "employee id in HR")
		version  = fs.Uint64("version", 0, "HR version of this change (increasing per employee)")
		op       = fs.String("op", "updated", "created, updated, deleted or snapshot")
		email    = fs.String("email", "", "new email")
		given    = fs.String("given", "", "new given name")
		family   = fs.String("family", "", "new family name")
		phone    = fs.String("phone", "", "new phone (E.164), or - to clear it")
		start    = fs.String("start", "", "employment start date YYYY-MM-DD")
		end      = fs.String("end", "", "employment end date YYYY-MM-DD, or - to clear it")
		street   = fs.String("street", "", "address: street")
		zip      = fs.String("zip", "", "address: postal code")
		city     = fs.String("city", "", "address: city")
		country  = fs.String("country", "", "address: country code (e.g. NO)")
		idNum    = fs.String("id", "", "identification number, or - to unset the identifications")
		idType   = fs.String("id-type", "national_id", "identification type")
		idCC     = fs.String("id-country", "NO", "identification issuing country")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ops := map[string]hrv1.EmployeeOperation{
		"created": hrv1.EmployeeOperation_EMPLOYEE_OPERATION_CREATED, "updated": hrv1.EmployeeOperation_EMPLOYEE_OPERATION_UPDATED,
		"deleted": hrv1.EmployeeOperation_EMPLOYEE_OPERATION_DELETED, "snapshot": hrv1.EmployeeOperation_EMPLOYEE_OPERATION_SNAPSHOT,
	}
	operation, ok := ops[*op]
	if !ok {
		return fmt.Errorf("-op: want created, updated, deleted or snapshot")
	}
	if *version == 0 {
		return errors.New("-version: required (increase it with every change of the employee)")
	}
	now := time.Now()
	ev := &hrv1.FieldChanged{
		TenantId: *tenant, OccurredAt: timestamppb.New(now), EmployeeId: *employee, HrVersion: *version,
		ChangedAt: timestamppb.New(now), Operation: operation,
	}
	if *email != "" {
		ev.Email = &hrv1.EmailChange{NewValue: email}
	}
	if *given != "" {
		ev.GivenName = &hrv1.NameChange{NewValue: given}
	}
	if *family != "" {
		ev.FamilyName = &hrv1.NameChange{NewValue: family}
	}
	switch *phone {
	case "":
	case "-":
		ev.Phone = &hrv1.PhoneChange{OldValue: ptr("")}
	default:
		ev.Phone = &hrv1.PhoneChange{NewValue: phone}
	}
	for _, d := range []struct {
		v   string
		dst **hrv1.DateChange
	}{{*start, &ev.EmploymentStartDate}, {*end, &ev.EmploymentEndDate}} {
		switch d.v {
		case "":
		case "-":
			*d.dst = &hrv1.DateChange{OldValue: &commonv1.Date{Year: 1, Month: 1, Day: 1}}
		default:
			t, err := time.Parse(time.DateOnly, d.v)
			if err != nil {
				return fmt.Errorf("date %q: want YYYY-MM-DD", d.v)
			}
			*d.dst = &hrv1.DateChange{NewValue: &commonv1.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}}
		}
	}
	if *street+*zip+*city+*country != "" {
		a := &hrv1.Address{}
		for _, p := range []struct {
			v   string
			dst **string
		}{{*street, &a.Postaddress}, {*zip, &a.Zipcode}, {*city, &a.City}, {*country, &a.CountryCode}} {
			if p.v != "" {
				*p.dst = ptr(p.v)
			}
		}
		ev.Address = &hrv1.AddressChange{NewValue: a}
	}
	switch *idNum {
	case "":
	case "-":
		ev.Identifications = &hrv1.IdentificationsChange{OldValue: &hrv1.Identifications{}}
	default:
		ev.Identifications = &hrv1.IdentificationsChange{NewValue: &hrv1.Identifications{Items: []*hrv1.Identification{
			{Id: *idNum, CountryCode: strings.ToUpper(*idCC), Type: *idType},
		}}}
	}

	if err := protovalidate.Validate(ev); err != nil {
		return fmt.Errorf("the event would be dead-lettered: %w", err)
	}
	nc, err := nats.Connect(*natsURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", *natsURL, err)
	}
	defer nc.Close()
	js, err := bus.NewJetStream(nc)
	if err != nil {
		return err
	}
	subject := "hr.v1." + *tenant + ".employee." + *employee + ".changed"
	e, err := bus.NewEvent("/example/hr", subject, "employee/"+*employee, ev)
	if err != nil {
		return err
	}
	ack, err := bus.NewPublisher(js).Publish(ctx, e)
	if err != nil {
		return err
	}
	fmt.Printf("published %s on %s (stream %s, seq %d, event id %s)\n", bus.TypeOf(ev), subject, ack.Stream, ack.Sequence, e.ID)
	return nil
}

func ptr[T any](v T) *T { return &v }
