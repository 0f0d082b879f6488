package report

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/domain"
)

func TestLanguage(t *testing.T) {
	t.Parallel()
	for tag, want := range map[string]string{
		"nb": "nb", "nb-NO": "nb", "no": "nb", "nn": "nb", "NB_no": "nb", "sv": "sv", "sv-FI": "sv",
		"en": "en", "en-GB": "en", "fr": "en", "fr-CA": "en", "": "en", "  ": "en", "da": "en",
	} {
		require.Equal(t, want, Language(tag), tag)
	}
	for lang := range catalogue {
		require.Equal(t, lang, Language(lang), "a catalogue is reachable by its own name")
	}
}

var verb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// Every language has every text, with the same formatting verbs in the same
// order as English, and a word for every failure reason, rule violation,
// violation detail and plan note.
func TestEveryLanguageHasEveryText(t *testing.T) {
	t.Parallel()
	en := reflect.ValueOf(english)
	for lang, tx := range catalogue {
		v := reflect.ValueOf(*tx)
		for i := range v.NumField() {
			name := v.Type().Field(i).Name
			switch f := v.Field(i); f.Kind() {
			case reflect.String:
				require.NotEmpty(t, f.String(), "%s: %s", lang, name)
				require.Equal(t, verb.FindAllString(en.Field(i).String(), -1), verb.FindAllString(f.String(), -1), "%s: the verbs of %s", lang, name)
			case reflect.Map:
				if name == "details" {
					continue
				}
				require.Equal(t, en.Field(i).Len(), f.Len(), "%s: %s", lang, name)
				for _, k := range en.Field(i).MapKeys() {
					require.NotEmpty(t, f.MapIndex(k).String(), "%s: %s[%v]", lang, name, k)
				}
			}
		}
		for r := app.ReasonUnavailable; r <= app.ReasonHRUnavailable; r++ {
			if r == app.ReasonNotLinked || r == app.ReasonNoConnection {
				continue // real time only, never a run's
			}
			require.NotEmpty(t, tx.reasons[r], "%s: reason %v", lang, r)
		}
		for k := domain.DuplicateEmailInHR; k <= domain.MissingRequiredValue; k++ {
			require.NotEmpty(t, tx.violations[k], "%s: violation %d", lang, k)
		}
		if lang == "en" {
			continue
		}
		for _, s := range append(append([]string{}, domain.ViolationDetails...), domain.PlanNotes...) {
			require.NotEmpty(t, tx.details[s], "%s: no translation of %q", lang, s)
		}
	}
}

// fullReport has every section a report can have.
func fullReport(lang string) app.Report {
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	return app.Report{
		Run: app.Run{
			ID: "run-1", ConnectionID: "conn-1", Kind: app.KindFirstSync, Outcome: app.RunFailed, Language: lang,
			Error: "the ERP refuses the connection's API key", StartedAt: at, CompletedAt: at.Add(time.Minute),
			Total: 4, Done: 2, Counts: app.Counts{CreatedInERP: 1, UpdatedInHR: 1, Failed: 1, Skipped: 1},
			Affected: 2, ThresholdTotal: 4, ThresholdPercent: 20, ConfirmedBy: "user-9",
			Decisions: domain.Decisions{DefaultWinner: domain.SideERP, Missing: domain.MissingWinner, AddToERP: true},
		},
		Connection: app.Connection{ID: "conn-1", CompanyID: "company-7"},
		Failures:   []app.ItemFailure{{HRID: "emp-1", Email: "ola@example.com", Reason: app.ReasonDuplicateEmail, Message: "409 email exists"}},
		Violations: []app.ViolationRecord{
			{Kind: domain.DuplicatePhoneInHR, Value: "+4799", Detail: domain.DetailDuplicatePhoneInHR, HRID: "emp-2"},
			{Kind: domain.MissingRequiredValue, Detail: domain.DetailNoEmail, HRID: "emp-3"},
		},
		Notes:         []app.ReportNote{{Email: "kari@example.com", Note: domain.NoteIdentificationKept}, {Note: domain.NotePhoneNotToHR}},
		NotAddedToERP: 0, NotAddedToHR: 3,
	}
}

// A report in Norwegian or Swedish says nothing in English but what the
// other systems said, and names the same figures as the English one.
func TestRenderInEveryLanguage(t *testing.T) {
	t.Parallel()
	enSubject, enText := Render(fullReport("en"), "24SevenOffice")
	require.Equal(t, "Rollcall: first synchronisation with 24SevenOffice failed", enSubject)
	for _, want := range []string{
		"(company company-7)", "The run stopped: the ERP refuses the connection's API key", "2 of 4 employees to write were done",
		"more than the 20% threshold; it was confirmed by user user-9", "ola@example.com> (HR emp-1): the email is used by another employee. 409 email exists",
		domain.DetailDuplicatePhoneInHR, "Left as they were (2)", "(unnamed): " + domain.NotePhoneNotToHR,
		"conflicts won by 24SevenOffice", "taken from the winning side", "The connection is not active yet",
		"\n  - (HR emp-3): a required value is missing. " + domain.DetailNoEmail,
	} {
		require.Contains(t, enText, want)
	}
	require.NotContains(t, enText, "now reaches 24SevenOffice in real time", "a failed first sync activates nothing")

	for lang, want := range map[string]struct {
		subject string
		says    []string
	}{
		"nb": {"Rollcall: første synkronisering med 24SevenOffice mislyktes", []string{
			"(selskapet company-7)", "Kjøringen stoppet: the ERP refuses the connection's API key", "2 av 4 ansatte",
			"mer enn terskelen på 20 %; den ble bekreftet av bruker user-9",
			"(HR emp-1): e-postadressen brukes av en annen ansatt. 409 email exists", "Beholdt uendret (2)",
			"(uten navn): telefonnummeret skrives ikke til HR", "konflikter vunnet av 24SevenOffice", "Tilkoblingen er ikke aktiv ennå",
		}},
		"sv": {"Rollcall: första synkroniseringen med 24SevenOffice misslyckades", []string{
			"(företaget company-7)", "Körningen avbröts: the ERP refuses the connection's API key", "2 av 4 anställda",
			"mer än tröskeln på 20 %; den bekräftades av användare user-9",
			"(HR emp-1): e-postadressen används av en annan anställd. 409 email exists", "Lämnade oförändrade (2)",
			"(namnlös): telefonnumret skrivs inte till HR", "konflikter vunna av 24SevenOffice", "Anslutningen är inte aktiv än",
		}},
	} {
		subject, text := Render(fullReport(lang), "24SevenOffice")
		require.Equal(t, want.subject, subject)
		for _, s := range want.says {
			require.Contains(t, text, s, lang)
		}
		require.NotContains(t, text, "%!", "%s: a format and its arguments disagree", lang)
		require.Equal(t, strings.Count(enText, "\n"), strings.Count(text, "\n"), "%s: the same lines as English", lang)
		// No English text of the catalogue or of domain is left in it.
		en := reflect.ValueOf(english)
		for i := range en.NumField() {
			if en.Field(i).Kind() != reflect.String {
				continue
			}
			for _, part := range verb.Split(en.Field(i).String(), -1) {
				if part = strings.TrimSpace(part); len(part) > 8 {
					require.NotContains(t, text, part, "%s: English %q left in", lang, part)
				}
			}
		}
		for _, s := range append(append([]string{}, domain.ViolationDetails...), domain.PlanNotes...) {
			require.NotContains(t, text, s, lang)
		}
	}
}

// A run that did not fail says real time is on (a manual run's connection
// was active already).
func TestRealTimeLineOnlyWhenActive(t *testing.T) {
	t.Parallel()
	r := fullReport("en")
	r.Run.Outcome, r.Run.Error = app.RunPartiallyFailed, ""
	_, text := Render(r, "24SevenOffice")
	require.Contains(t, text, "Any change to a supported field in HR now reaches 24SevenOffice in real time.")
	r.Run.Kind, r.Run.Outcome = app.KindManual, app.RunFailed
	subject, text := Render(r, "24SevenOffice")
	require.Equal(t, "Rollcall: synchronize users with 24SevenOffice failed", subject)
	require.Contains(t, text, "now reaches 24SevenOffice in real time", "a failed manual run leaves the connection active")
}
