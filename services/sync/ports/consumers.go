package ports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"rollcall.dev/pkg/bus"
	"rollcall.dev/pkg/inbox"
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

// FieldChanged consumes HR's changes in batches: the changes that arrived
// together are merged into their employees' HR state in one short
// transaction (de-duplicated by the inbox) and then acked, each by its own
// verdict; the ERP is written by the propagator, so an ERP outage never
// holds up the stream and never dead-letters a change. Undecodable or
// invalid events, a subject that does not match the payload, an unknown
// tenant or connection, and a change the store refuses are dead-lettered
// with the reason, on their own: the rest of their batch is stored.
//
// One batch at a time: while it commits, the next gathers (up to 2,048
// changes), so a burst costs a few transactions, and the changes of one
// employee commit in the order JetStream delivered them: versions make any
// order safe, and this one also means a change published earlier is never
// stored later, so the ERP is not shown an older state after a newer one.
//
// Each batch tells the service how many changes wait behind it (in the
// stream and in this process): while that is a burst the propagator holds
// employees back, so a burst becomes one ERP write per employee
// (app.Service.BatchStarting, SYNC_BURST_HOLD).
func FieldChanged(svc *app.Service) bus.ConsumerConfig {
	return bus.ConsumerConfig{
		Stream:  bus.StreamHR,
		Durable: "sync-hr-field-changed",
		// No filter: the HR stream holds FieldChanged only (subjects
		// FieldChangedSubjects; anything else published on hr.v1.> fails
		// the subject check below and is dead-lettered). A wildcard filter
		// made the server match every message's subject against it, per
		// delivery, in the stream's subject tree: a tenth of the
		// consumer's server-side cost in BenchmarkHRToERP.
		// Only the database can make the handler fail transiently; give a
		// database outage most of an hour before parking.
		MaxDeliver:       60,
		Backoff:          []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, time.Minute},
		MaxAckPending:    8192,
		BatchSize:        2048,
		MaxBatch:         2048,
		BatchConcurrency: 1,
		BatchHandler: bus.TypedBatch(func(ctx context.Context, ms []*bus.Message, evs []*hrv1.FieldChanged) []error {
			errs := make([]error, len(ms))
			cs := make([]app.Change, 0, len(ms))
			idx := make([]int, 0, len(ms))
			for i, ev := range evs {
				m := ms[i]
				if want := FieldChangedSubject(ev.GetTenantId(), ev.GetEmployeeId()); m.Subject != want {
					errs[i] = bus.Permanentf("subject %q does not match the event's tenant and employee (want %q)", m.Subject, want)
					continue
				}
				if m.ID == "" {
					errs[i] = bus.Permanent(inbox.ErrNoEventID)
					continue
				}
				c := ChangeFromProto(ev)
				c.EventID = m.ID
				c.TraceParent = traceParent(m.SpanContext)
				cs, idx = append(cs, c), append(idx, i)
			}
			last := ms[len(ms)-1]
			defer svc.BatchDone(svc.BatchStarting(len(ms), last.NumPending+uint64(max(last.Queued, 0))))
			for j, err := range svc.FieldChangedBatch(ctx, cs) {
				if errors.Is(err, erp.ErrNoConnection) || errors.Is(err, app.ErrUnknownConnection) || errors.Is(err, app.ErrInvalidChange) {
					err = bus.Permanent(err)
				}
				errs[idx[j]] = err
			}
			return errs
		}),
	}
}

// traceParent is sc as a W3C traceparent ("" when there is no trace).
func traceParent(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
	return c.Get("traceparent")
}

// FieldChangedConsumers returns the FieldChanged consumer: one subscription
// hands over batches of whatever has arrived, and the batches commit one
// after the other, in the order JetStream delivered them. Replicas share
// the durable consumer; versions decide between them, under a row lock per
// employee.
func FieldChangedConsumers(svc *app.Service) []bus.ConsumerConfig {
	return []bus.ConsumerConfig{FieldChanged(svc)}
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
