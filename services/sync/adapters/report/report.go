// Package report writes a sync run's result report and emails it to the
// admin (seed 004: "You will receive an email confirming the result") over
// the platform's SMTP mailer (pkg/notify). The text names every count,
// every employee that failed and why, the rule violations that kept
// employees out, and what was left as it was.
//
// The report is written in the tenant's communication language as identity
// gave it when the run started (app.Run.Language): English, Norwegian
// (Bokmål) or Swedish; any other language gets English. What the other
// system said about a failure is quoted as it said it.
//
// It sends one message per run; the executor retries transient failures
// and records a refusal on the run.
package report

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
		Headers: map[string]string{HeaderRunID: r.Run.ID, "Content-Language": Language(r.Run.Language)},
	})
}

func (m *Mailer) erp() string {
	if m.ERPName == "" {
		return "24SevenOffice"
	}
	return m.ERPName
}

// Language is the language a report for a tenant of language tag (BCP 47,
// as identity keeps it) is written in: "nb" (Norwegian: nb, no and nn),
// "sv", or "en" for anything else.
func Language(tag string) string {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	base, _, _ = strings.Cut(base, "_")
	switch base {
	case "nb", "no", "nn":
		return "nb"
	case "sv":
		return "sv"
	}
	return "en"
}

func who(t *texts, name, email, hrID, erpID string) string {
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
		if s != "" {
			s += " "
		}
		s += "(" + strings.Join(ids, ", ") + ")"
	}
	if s == "" {
		return t.unnamed
	}
	return s
}

// lowerFirst lowercases the first letter ("First synchronisation" in the
// middle of the subject).
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// Render writes the report's subject and text, in the run's language.
func Render(r app.Report, erpName string) (string, string) {
	t := catalogue[Language(r.Run.Language)]
	run := r.Run
	what := t.manual
	if run.Kind == app.KindFirstSync {
		what = t.firstSync
	}
	outcome := t.outcome[run.Outcome]
	if outcome == "" {
		outcome = string(run.Outcome)
	}
	subject := fmt.Sprintf(t.subject, lowerFirst(what), erpName, outcome)
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line(t.heading, what, erpName, outcome)
	line("")
	scope := t.wholeTenant
	if r.Connection.CompanyID != "" {
		scope = fmt.Sprintf(t.company, r.Connection.CompanyID)
	}
	line(t.runLine, run.ID, run.ConnectionID, scope)
	line(t.times, run.StartedAt.UTC().Format(time.RFC3339), run.CompletedAt.UTC().Format(time.RFC3339))
	if run.Outcome == app.RunFailed && run.Error != "" {
		line("")
		line(t.stopped, run.Error)
		line(t.doneOf, run.Done, run.Total)
	}
	c := run.Counts
	line("")
	line(t.result)
	line(t.createdInERP, erpName, c.CreatedInERP)
	line(t.createdInHR, c.CreatedInHR)
	line(t.updatedInERP, erpName, c.UpdatedInERP)
	line(t.updatedInHR, c.UpdatedInHR)
	line(t.conflicts, c.Conflicts)
	line(t.unchanged, c.Unchanged)
	line(t.failed, c.Failed)
	line(t.skipped, c.Skipped)
	line(t.notAddedToERP, erpName, r.NotAddedToERP)
	line(t.notAddedToHR, erpName, r.NotAddedToHR)
	if run.ConfirmedBy != "" {
		line("")
		line(t.confirmed, run.Affected, run.ThresholdTotal, run.ThresholdPercent, run.ConfirmedBy)
	}
	if len(r.Failures) > 0 || c.Failed > 0 {
		line("")
		line(t.failedHeading, c.Failed)
		for i, f := range r.Failures {
			if i == MaxLines {
				break
			}
			reason := t.reasons[f.Reason]
			if reason == "" {
				reason = f.Reason.String()
			}
			line("  - %s: %s. %s", who(t, f.Name, f.Email, f.HRID, f.ERPID), reason, f.Message)
		}
		more(&b, t.moreFailures, c.Failed, min(len(r.Failures), MaxLines))
	}
	if len(r.Violations) > 0 {
		line("")
		line(t.violationsHeading, len(r.Violations))
		for i, v := range r.Violations {
			if i == MaxLines {
				break
			}
			value := ""
			if v.Value != "" {
				value = " " + v.Value
			}
			line("  - %s: %s%s. %s", who(t, v.Name, v.Email, v.HRID, v.ERPID), t.violations[v.Kind], value, t.translate(v.Detail))
		}
		more(&b, t.more, len(r.Violations), min(len(r.Violations), MaxLines))
	}
	if len(r.Notes) > 0 {
		line("")
		line(t.notesHeading, len(r.Notes))
		for i, n := range r.Notes {
			if i == MaxLines {
				break
			}
			line("  - %s: %s", who(t, n.Name, n.Email, "", ""), t.translate(n.Note))
		}
		more(&b, t.more, len(r.Notes), min(len(r.Notes), MaxLines))
	}
	d := run.Decisions
	winner := "HR"
	if d.DefaultWinner == domain.SideERP {
		winner = erpName
	}
	missing := t.missingFill
	if d.Missing == domain.MissingWinner {
		missing = t.missingWinner
	}
	line("")
	line(t.choices, winner, len(d.Resolutions), missing, erpName, t.yesNo(d.AddToERP), erpName, t.yesNo(d.AddToHR))
	line("")
	if run.Kind == app.KindFirstSync && run.Outcome == app.RunFailed {
		// A first sync that failed does not activate the connection.
		line(t.notActive, erpName)
	} else {
		line(t.realTime, erpName, erpName)
	}
	return subject, b.String()
}

func more(b *strings.Builder, format string, total, shown int) {
	if total > shown {
		fmt.Fprintf(b, format+"\n", total-shown)
	}
}
