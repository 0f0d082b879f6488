// Package report writes a sync run's result report and emails it to the
// admin (seed 004: "You will receive an email confirming the result") over
// the platform's SMTP mailer (pkg/notify). The text names every count,
// every employee that failed and why, the rule violations that kept
// employees out, and what was left as it was.
//
// It sends one message per run; the executor retries transient failures
// and records a refusal on the run.
package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"rollcall.dev/pkg/notify"
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/domain"
)

// MaxLines bounds each list in the report; the rest are counted.
const MaxLines = 200

// HeaderRunID names the run in the message's headers.
const HeaderRunID = "X-Rollcall-Sync-Run-Id"

// Mailer implements app.Reporter over a notify.Mailer.
type Mailer struct {
	Mail notify.Mailer
	// ERPName names the ERP in the text (default "24SevenOffice").
	ERPName string
}

var _ app.Reporter = (*Mailer)(nil)

// SendReport implements app.Reporter.
func (m *Mailer) SendReport(ctx context.Context, r app.Report) error {
	subject, text := Render(r, m.erp())
	return m.Mail.SendEmail(ctx, notify.Email{
		To: r.Run.Recipients, Subject: subject, Text: text,
		Headers: map[string]string{HeaderRunID: r.Run.ID},
	})
}

func (m *Mailer) erp() string {
	if m.ERPName == "" {
		return "24SevenOffice"
	}
	return m.ERPName
}

func outcomeWords(s app.RunStatus) string {
	switch s {
	case app.RunSucceeded:
		return "succeeded"
	case app.RunPartiallyFailed:
		return "partially failed"
	case app.RunFailed:
		return "failed"
	}
	return string(s)
}

var reasonWords = map[app.FailureReason]string{
	app.ReasonUnavailable:         "the ERP was unavailable",
	app.ReasonRateLimited:         "the ERP kept limiting the rate",
	app.ReasonUnauthorized:        "the ERP refused the API key",
	app.ReasonRejected:            "the ERP refused the values",
	app.ReasonDuplicateEmail:      "the email is used by another employee",
	app.ReasonDuplicatePhone:      "the phone is used by another HR employee",
	app.ReasonChangedSincePreview: "changed since the preview",
	app.ReasonHRRejected:          "HR refused the values",
	app.ReasonHRUnavailable:       "HR was unavailable",
}

var violationWords = map[domain.ViolationKind]string{
	domain.DuplicateEmailInHR:   "email shared by several HR employees",
	domain.DuplicatePhoneInHR:   "phone shared with another HR employee",
	domain.DuplicateEmailInERP:  "email shared by several ERP employees",
	domain.MissingRequiredValue: "a required value is missing",
}

func who(name, email, hrID, erpID string) string {
	s := strings.TrimSpace(name)
	if email != "" {
		if s != "" {
			s += " "
		}
		s += "<" + email + ">"
	}
	var ids []string
	if hrID != "" {
		ids = append(ids, "HR "+hrID)
	}
	if erpID != "" {
		ids = append(ids, "ERP "+erpID)
	}
	if len(ids) > 0 {
		s += " (" + strings.Join(ids, ", ") + ")"
	}
	if s == "" {
		return "(unnamed)"
	}
	return s
}

// Render writes the report's subject and text.
func Render(r app.Report, erpName string) (string, string) {
	run := r.Run
	what := "Synchronize users"
	if run.Kind == app.KindFirstSync {
		what = "First synchronisation"
	}
	subject := fmt.Sprintf("Rollcall: %s with %s %s", strings.ToLower(what[:1])+what[1:], erpName, outcomeWords(run.Outcome))
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("%s between HR and %s: %s.", what, erpName, outcomeWords(run.Outcome))
	line("")
	scope := "the whole tenant"
	if r.Connection.CompanyID != "" {
		scope = "company " + r.Connection.CompanyID
	}
	line("Run %s, connection %s (%s).", run.ID, run.ConnectionID, scope)
	line("Started %s, finished %s.", run.StartedAt.UTC().Format(time.RFC3339), run.CompletedAt.UTC().Format(time.RFC3339))
	if run.Outcome == app.RunFailed && run.Error != "" {
		line("")
		line("The run stopped: %s", run.Error)
		line("%d of %d employees to write were done; run it again once this is fixed.", run.Done, run.Total)
	}
	c := run.Counts
	line("")
	line("Result")
	line("  Created in %s: %d", erpName, c.CreatedInERP)
	line("  Created in HR: %d", c.CreatedInHR)
	line("  Updated in %s: %d", erpName, c.UpdatedInERP)
	line("  Updated in HR: %d", c.UpdatedInHR)
	line("  Employees with conflicts resolved by your choice: %d", c.Conflicts)
	line("  Already equal on both sides: %d", c.Unchanged)
	line("  Failed: %d", c.Failed)
	line("  Skipped (rule violations): %d", c.Skipped)
	line("  In HR only, not added to %s (your choice): %d", erpName, r.NotAddedToERP)
	line("  In %s only, not added to HR (your choice): %d", erpName, r.NotAddedToHR)
	if run.ConfirmedBy != "" {
		line("")
		line("This run overwrote or cleared values of %d of %d employees, more than the %d%% threshold; it was confirmed by user %s.",
			run.Affected, run.ThresholdTotal, run.ThresholdPercent, run.ConfirmedBy)
	}
	if len(r.Failures) > 0 || c.Failed > 0 {
		line("")
		line("Failed (%d)", c.Failed)
		for i, f := range r.Failures {
			if i == MaxLines {
				break
			}
			reason := reasonWords[f.Reason]
			if reason == "" {
				reason = f.Reason.String()
			}
			line("  - %s: %s. %s", who(f.Name, f.Email, f.HRID, f.ERPID), reason, f.Message)
		}
		more(&b, c.Failed, min(len(r.Failures), MaxLines))
	}
	if len(r.Violations) > 0 {
		line("")
		line("Rule violations found by the preview (%d)", len(r.Violations))
		for i, v := range r.Violations {
			if i == MaxLines {
				break
			}
			value := ""
			if v.Value != "" {
				value = " " + v.Value
			}
			line("  - %s: %s%s. %s", who(v.Name, v.Email, v.HRID, v.ERPID), violationWords[v.Kind], value, v.Detail)
		}
		more(&b, len(r.Violations), min(len(r.Violations), MaxLines))
	}
	if len(r.Notes) > 0 {
		line("")
		line("Left as they were (%d)", len(r.Notes))
		for i, n := range r.Notes {
			if i == MaxLines {
				break
			}
			line("  - %s: %s", who(n.Name, n.Email, "", ""), n.Note)
		}
		more(&b, len(r.Notes), min(len(r.Notes), MaxLines))
	}
	d := run.Decisions
	winner := "HR"
	if d.DefaultWinner == domain.SideERP {
		winner = erpName
	}
	missing := "copied to the side that lacked them"
	if d.Missing == domain.MissingWinner {
		missing = "taken from the winning side (a value it lacked was cleared)"
	}
	line("")
	line("Your choices: conflicts won by %s (%d per-field exceptions); missing values %s; HR-only employees added to %s: %s; %s-only employees added to HR: %s.",
		winner, len(d.Resolutions), missing, erpName, yesNo(d.AddToERP), erpName, yesNo(d.AddToHR))
	line("")
	line("Any change to a supported field in HR now reaches %s in real time. Changes made in %s reach HR only when you synchronize users.", erpName, erpName)
	return subject, b.String()
}

func more(b *strings.Builder, total, shown int) {
	if total > shown {
		fmt.Fprintf(b, "  ... and %d more (GetSyncRun lists the failures).\n", total-shown)
	}
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}
