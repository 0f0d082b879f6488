package postgres

import (
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/outbox"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	syncv1 "rollcall.dev/proto/gen/rollcall/sync/v1"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
)

// Subject is where an employee's sync event goes:
// sync.v1.<tenant>.employee.<id>.<verb>.
func Subject(tenantID, employeeID, verb string) string {
	return "sync.v1." + tenantID + ".employee." + employeeID + "." + verb
}

func aggregate(j app.Job) string { return "employee/" + j.TenantID + "/" + j.EmployeeID }

// hrFields lists the HR fields behind written ERP fields, once each.
func hrFields(written []erp.Field) []hrv1.EmployeeField {
	var out []hrv1.EmployeeField
	seen := map[domain.Field]bool{}
	for _, f := range written {
		hf := domain.HRFieldOf(f)
		if hf == 0 || seen[hf] {
			continue
		}
		seen[hf] = true
		out = append(out, hrv1.EmployeeField(hf))
	}
	return out
}

func syncedRecord(j app.Job, r app.Result) (outbox.Record, error) {
	ev := &syncv1.EmployeeSynced{
		TenantId: j.TenantID, OccurredAt: timestamppb.New(r.At), ConnectionId: j.ConnectionID,
		EmployeeId: j.EmployeeID, ErpEmployeeId: r.ERPEmployeeID, Direction: syncv1.SyncDirection_SYNC_DIRECTION_HR_TO_ERP,
		Action: syncv1.EmployeeSyncAction(r.Action), FieldsWritten: hrFields(r.Written), HrVersion: j.HR.Version,
		Latency: durationpb.New(r.Latency),
	}
	return outbox.Record{Subject: Subject(j.TenantID, j.EmployeeID, "synced"), Aggregate: aggregate(j), Event: ev}, nil
}

func failedRecord(j app.Job, f app.Failure) (outbox.Record, error) {
	ev := &syncv1.SyncFailed{
		TenantId: j.TenantID, OccurredAt: timestamppb.New(f.At), ConnectionId: j.ConnectionID,
		EmployeeId: &j.EmployeeID, Reason: syncv1.SyncFailureReason(f.Reason), Retriable: f.Retriable,
		Attempt: uint32(max(f.Attempt, 1)),
	}
	if v := j.HR.Version; v > 0 {
		ev.HrVersion = &v
	}
	if f.Retriable && !f.NextAt.IsZero() {
		ev.NextAttemptAt = timestamppb.New(f.NextAt)
	}
	if e := f.ERP; e != nil {
		ev.ErpError = &syncv1.ErpError{Code: e.Code, Message: truncate(e.Message, 1000)}
		if e.Status >= 100 && e.Status <= 599 {
			s := int32(e.Status)
			ev.ErpError.HttpStatus = &s
		}
	}
	return outbox.Record{Subject: Subject(j.TenantID, j.EmployeeID, "failed"), Aggregate: aggregate(j), Event: ev}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
