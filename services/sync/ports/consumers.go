package ports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"rollcall.dev/pkg/bus"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
)

// FieldChangedSubjects is where HR publishes FieldChanged:
// hr.v1.<tenant>.employee.<id>.changed.
const FieldChangedSubjects = "hr.v1.*.employee.*.changed"

// FieldChangedSubject is the subject of one employee's changes.
func FieldChangedSubject(tenantID, employeeID string) string {
	return "hr.v1." + tenantID + ".employee." + employeeID + ".changed"
}

// FieldChanged consumes HR's changes. The handler only merges the change
// into the employee's HR state (one short transaction, de-duplicated by the
// inbox) and acks; the ERP is written by the propagator, so an ERP outage
// never holds up the stream and never dead-letters a change. Undecodable or
// invalid events, a subject that does not match the payload, and an unknown
// tenant or connection are dead-lettered with the reason.
func FieldChanged(svc *app.Service) bus.ConsumerConfig {
	return bus.ConsumerConfig{
		Stream:         bus.StreamHR,
		Durable:        "sync-hr-field-changed",
		FilterSubjects: []string{FieldChangedSubjects},
		// Only the database can make the handler fail transiently; give a
		// database outage most of an hour before parking.
		MaxDeliver:    60,
		Backoff:       []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, time.Minute},
		MaxAckPending: 1024,
		BatchSize:     64,
		Handler: bus.Typed(func(ctx context.Context, m *bus.Message, ev *hrv1.FieldChanged) error {
			if want := FieldChangedSubject(ev.GetTenantId(), ev.GetEmployeeId()); m.Subject != want {
				return bus.Permanentf("subject %q does not match the event's tenant and employee (want %q)", m.Subject, want)
			}
			c := ChangeFromProto(ev)
			c.EventID = m.ID
			err := svc.FieldChanged(ctx, c)
			if errors.Is(err, erp.ErrNoConnection) || errors.Is(err, app.ErrUnknownConnection) {
				return bus.Permanent(err)
			}
			return err
		}),
	}
}

// FieldChangedConsumers is FieldChanged n times over the same durable
// consumer: the runner handles each subscription's messages one at a time,
// and n pull subscriptions sharing the durable (as replicas do) let n
// changes commit at once. Order between them does not matter: versions
// decide, under a row lock per employee.
func FieldChangedConsumers(svc *app.Service, n int) []bus.ConsumerConfig {
	out := make([]bus.ConsumerConfig, max(n, 1))
	for i := range out {
		out[i] = FieldChanged(svc)
	}
	return out
}

// ChangeFromProto translates a (validated) FieldChanged.
func ChangeFromProto(ev *hrv1.FieldChanged) app.Change {
	c := app.Change{
		TenantID: ev.GetTenantId(), EmployeeID: ev.GetEmployeeId(), ConnectionID: ev.GetConnectionId(),
		Change: domain.Change{
			Op: domain.Operation(ev.GetOperation()), Version: ev.GetHrVersion(), ChangedAt: ev.GetChangedAt().AsTime(),
		},
	}
	v := &c.Values
	add := func(f domain.Field) { c.Fields = append(c.Fields, f) }
	if x := ev.GetEmail(); x != nil {
		add(domain.FieldEmail)
		v.Email = x.GetNewValue()
	}
	if x := ev.GetGivenName(); x != nil {
		add(domain.FieldGivenName)
		v.GivenName = x.GetNewValue()
	}
	if x := ev.GetFamilyName(); x != nil {
		add(domain.FieldFamilyName)
		v.FamilyName = x.GetNewValue()
	}
	if x := ev.GetPhone(); x != nil {
		add(domain.FieldPhone)
		v.Phone = x.GetNewValue()
	}
	if x := ev.GetEmploymentStartDate(); x != nil {
		add(domain.FieldStartDate)
		v.StartDate = date(x.GetNewValue())
	}
	if x := ev.GetEmploymentEndDate(); x != nil {
		add(domain.FieldEndDate)
		v.EndDate = date(x.GetNewValue())
	}
	if x := ev.GetAddress(); x != nil {
		add(domain.FieldAddress)
		if a := x.GetNewValue(); a != nil {
			v.Address = domain.Address{Postaddress: a.GetPostaddress(), Zipcode: a.GetZipcode(), City: a.GetCity(), CountryCode: a.GetCountryCode()}
		}
	}
	if x := ev.GetIdentifications(); x != nil {
		add(domain.FieldIdentifications)
		for _, id := range x.GetNewValue().GetItems() {
			v.Identifications = append(v.Identifications, domain.Identification{ID: id.GetId(), CountryCode: id.GetCountryCode(), Type: id.GetType()})
		}
	}
	return c
}

func date(d interface {
	GetYear() int32
	GetMonth() int32
	GetDay() int32
}) string {
	if d == nil || d.GetYear() == 0 {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
}
