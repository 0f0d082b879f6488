package report

import (
	"rollcall.dev/services/sync/app"
	"rollcall.dev/services/sync/domain"
)

// texts are the report's words in one language. Formats take their
// arguments in the same order in every language.
type texts struct {
	firstSync, manual string
	outcome           map[app.RunStatus]string
	// subject: what (lowercased), ERP, outcome.
	subject string
	// heading: what, ERP, outcome.
	heading string
	// wholeTenant, or company: the company id.
	wholeTenant, company string
	// runLine: run, connection, scope.
	runLine string
	// times: started, finished.
	times string
	// stopped: the error; doneOf: done, total.
	stopped, doneOf string
	result          string
	// Counts: createdInERP and updatedInERP take the ERP's name first;
	// notAddedToERP and notAddedToHR too.
	createdInERP, createdInHR, updatedInERP, updatedInHR string
	conflicts, unchanged, failed, skipped                string
	notAddedToERP, notAddedToHR                          string
	// confirmed: affected, of, percent, user.
	confirmed     string
	failedHeading string
	reasons       map[app.FailureReason]string
	// violationsHeading: how many.
	violationsHeading string
	violations        map[domain.ViolationKind]string
	notesHeading      string
	// details translates domain's violation details and plan notes.
	details map[string]string
	// moreFailures and more: how many more.
	moreFailures, more         string
	missingFill, missingWinner string
	// choices: winner, resolutions, missing, ERP, yes/no, ERP, yes/no.
	choices  string
	yes, no  string
	realTime string // ERP, ERP
	// notActive: a first synchronisation that failed (ERP).
	notActive string
	unnamed   string
}

func (t *texts) yesNo(v bool) string {
	if v {
		return t.yes
	}
	return t.no
}

// translate gives domain's English words (a violation's detail, a plan's
// note) in t's language; words it has no translation for stay as they are.
func (t *texts) translate(s string) string {
	if tr, ok := t.details[s]; ok {
		return tr
	}
	return s
}

// catalogue holds every language a report is written in, by Language's
// answer.
var catalogue = map[string]*texts{"en": &english, "nb": &norwegian, "sv": &swedish}

var english = texts{
	firstSync: "First synchronisation", manual: "Synchronize users",
	outcome: map[app.RunStatus]string{
		app.RunSucceeded: "succeeded", app.RunPartiallyFailed: "partially failed", app.RunFailed: "failed",
	},
	subject:      "Rollcall: %s with %s %s",
	heading:      "%s between HR and %s: %s.",
	wholeTenant:  "the whole tenant",
	company:      "company %s",
	runLine:      "Run %s, connection %s (%s).",
	times:        "Started %s, finished %s.",
	stopped:      "The run stopped: %s",
	doneOf:       "%d of %d employees to write were done; run it again once this is fixed.",
	result:       "Result",
	createdInERP: "  Created in %s: %d", createdInHR: "  Created in HR: %d",
	updatedInERP: "  Updated in %s: %d", updatedInHR: "  Updated in HR: %d",
	conflicts:     "  Employees with conflicts resolved by your choice: %d",
	unchanged:     "  Already equal on both sides: %d",
	failed:        "  Failed: %d",
	skipped:       "  Skipped (rule violations): %d",
	notAddedToERP: "  In HR only, not added to %s (your choice): %d",
	notAddedToHR:  "  In %s only, not added to HR (your choice): %d",
	confirmed:     "This run overwrote or cleared values of %d of %d employees, more than the %d%% threshold; it was confirmed by user %s.",
	failedHeading: "Failed (%d)",
	reasons: map[app.FailureReason]string{
		app.ReasonUnavailable:         "the ERP was unavailable",
		app.ReasonRateLimited:         "the ERP kept limiting the rate",
		app.ReasonUnauthorized:        "the ERP refused the API key",
		app.ReasonRejected:            "the ERP refused the values",
		app.ReasonDuplicateEmail:      "the email is used by another employee",
		app.ReasonDuplicatePhone:      "the phone is used by another HR employee",
		app.ReasonChangedSincePreview: "changed since the preview",
		app.ReasonHRRejected:          "HR refused the values",
		app.ReasonHRUnavailable:       "HR was unavailable",
	},
	violationsHeading: "Rule violations found by the preview (%d)",
	violations: map[domain.ViolationKind]string{
		domain.DuplicateEmailInHR:   "email shared by several HR employees",
		domain.DuplicatePhoneInHR:   "phone shared with another HR employee",
		domain.DuplicateEmailInERP:  "email shared by several ERP employees",
		domain.MissingRequiredValue: "a required value is missing",
	},
	notesHeading:  "Left as they were (%d)",
	details:       nil, // domain's own words
	moreFailures:  "  ... and %d more (GetSyncRun lists the failures).",
	more:          "  ... and %d more.",
	missingFill:   "copied to the side that lacked them",
	missingWinner: "taken from the winning side (a value it lacked was cleared)",
	choices:       "Your choices: conflicts won by %s (%d per-field exceptions); missing values %s; HR-only employees added to %s: %s; %s-only employees added to HR: %s.",
	yes:           "yes", no: "no",
	realTime:  "Any change to a supported field in HR now reaches %s in real time. Changes made in %s reach HR only when you synchronize users.",
	notActive: "The connection is not active yet: changes in HR are kept, and reach %s once a first synchronisation succeeds.",
	unnamed:   "(unnamed)",
}

var norwegian = texts{
	firstSync: "Første synkronisering", manual: "Synkroniser brukere",
	outcome: map[app.RunStatus]string{
		app.RunSucceeded: "lyktes", app.RunPartiallyFailed: "lyktes delvis", app.RunFailed: "mislyktes",
	},
	subject:      "Rollcall: %s med %s %s",
	heading:      "%s mellom HR og %s: %s.",
	wholeTenant:  "hele virksomheten",
	company:      "selskapet %s",
	runLine:      "Kjøring %s, tilkobling %s (%s).",
	times:        "Startet %s, ferdig %s.",
	stopped:      "Kjøringen stoppet: %s",
	doneOf:       "%d av %d ansatte som skulle skrives, ble ferdige; kjør den på nytt når dette er rettet.",
	result:       "Resultat",
	createdInERP: "  Opprettet i %s: %d", createdInHR: "  Opprettet i HR: %d",
	updatedInERP: "  Oppdatert i %s: %d", updatedInHR: "  Oppdatert i HR: %d",
	conflicts:     "  Ansatte med konflikter løst etter ditt valg: %d",
	unchanged:     "  Allerede like på begge sider: %d",
	failed:        "  Mislyktes: %d",
	skipped:       "  Hoppet over (regelbrudd): %d",
	notAddedToERP: "  Bare i HR, ikke lagt til i %s (ditt valg): %d",
	notAddedToHR:  "  Bare i %s, ikke lagt til i HR (ditt valg): %d",
	confirmed:     "Denne kjøringen overskrev eller tømte verdier for %d av %d ansatte, mer enn terskelen på %d %%; den ble bekreftet av bruker %s.",
	failedHeading: "Mislyktes (%d)",
	reasons: map[app.FailureReason]string{
		app.ReasonUnavailable:         "ERP-systemet var utilgjengelig",
		app.ReasonRateLimited:         "ERP-systemet begrenset forespørslene for lenge",
		app.ReasonUnauthorized:        "ERP-systemet avviste API-nøkkelen",
		app.ReasonRejected:            "ERP-systemet avviste verdiene",
		app.ReasonDuplicateEmail:      "e-postadressen brukes av en annen ansatt",
		app.ReasonDuplicatePhone:      "telefonnummeret brukes av en annen ansatt i HR",
		app.ReasonChangedSincePreview: "endret siden forhåndsvisningen",
		app.ReasonHRRejected:          "HR avviste verdiene",
		app.ReasonHRUnavailable:       "HR var utilgjengelig",
	},
	violationsHeading: "Regelbrudd funnet i forhåndsvisningen (%d)",
	violations: map[domain.ViolationKind]string{
		domain.DuplicateEmailInHR:   "e-postadresse delt av flere ansatte i HR",
		domain.DuplicatePhoneInHR:   "telefonnummer delt med en annen ansatt i HR",
		domain.DuplicateEmailInERP:  "e-postadresse delt av flere ansatte i ERP-systemet",
		domain.MissingRequiredValue: "en obligatorisk verdi mangler",
	},
	notesHeading: "Beholdt uendret (%d)",
	details: map[string]string{
		domain.DetailDuplicateEmailInHR:  "ansatte i HR deler denne e-postadressen (HR og ERP-systemet krever at den er unik): utelatt til det er rettet i HR",
		domain.DetailDuplicateEmailInERP: "ansatte i ERP-systemet deler denne e-postadressen: utelatt til det er rettet i ERP-systemet",
		domain.DetailDuplicatePhoneInHR:  "ansatte i HR deler dette telefonnummeret (HR krever at det er unikt): synkronisert, men intet telefonnummer skrives til HR for dem",
		domain.DetailERPPhoneTakenInHR:   "telefonnummeret i ERP-systemet tilhører en annen ansatt i HR (HR krever at det er unikt): det skrives ikke til HR",
		domain.DetailNoEmail:             "ingen e-postadresse: kan verken matches eller opprettes; utelatt",
		domain.DetailRequiredMissing:     "en obligatorisk verdi mangler: kan ikke opprettes på den andre siden",
		domain.NoteIdentificationKept:    "internationalID kan ikke fjernes i ERP-systemet: beholdt slik ERP-systemet har den",
		domain.NotePhoneNotToHR:          "telefonnummeret skrives ikke til HR: en annen ansatt i HR har det (HR krever at det er unikt)",
		domain.NoteRequiredKept:          "en obligatorisk verdi kan ikke tømmes: beholdt som den er",
	},
	moreFailures:  "  ... og %d til (GetSyncRun viser alle som mislyktes).",
	more:          "  ... og %d til.",
	missingFill:   "kopiert til siden som manglet dem",
	missingWinner: "tatt fra siden som vant (en verdi den manglet, ble tømt)",
	choices:       "Dine valg: konflikter vunnet av %s (%d unntak per felt); manglende verdier %s; ansatte bare i HR lagt til i %s: %s; ansatte bare i %s lagt til i HR: %s.",
	yes:           "ja", no: "nei",
	realTime:  "Alle endringer i støttede felt i HR sendes nå til %s i sanntid. Endringer gjort i %s kommer til HR bare når du synkroniserer brukere.",
	notActive: "Tilkoblingen er ikke aktiv ennå: endringer i HR tas vare på og sendes til %s så snart en første synkronisering lykkes.",
	unnamed:   "(uten navn)",
}

var swedish = texts{
	firstSync: "Första synkroniseringen", manual: "Synkronisera användare",
	outcome: map[app.RunStatus]string{
		app.RunSucceeded: "lyckades", app.RunPartiallyFailed: "lyckades delvis", app.RunFailed: "misslyckades",
	},
	subject:      "Rollcall: %s med %s %s",
	heading:      "%s mellan HR och %s: %s.",
	wholeTenant:  "hela organisationen",
	company:      "företaget %s",
	runLine:      "Körning %s, anslutning %s (%s).",
	times:        "Startad %s, klar %s.",
	stopped:      "Körningen avbröts: %s",
	doneOf:       "%d av %d anställda som skulle skrivas blev klara; kör den igen när detta är åtgärdat.",
	result:       "Resultat",
	createdInERP: "  Skapade i %s: %d", createdInHR: "  Skapade i HR: %d",
	updatedInERP: "  Uppdaterade i %s: %d", updatedInHR: "  Uppdaterade i HR: %d",
	conflicts:     "  Anställda med konflikter lösta enligt ditt val: %d",
	unchanged:     "  Redan lika på båda sidor: %d",
	failed:        "  Misslyckades: %d",
	skipped:       "  Överhoppade (regelbrott): %d",
	notAddedToERP: "  Bara i HR, inte tillagda i %s (ditt val): %d",
	notAddedToHR:  "  Bara i %s, inte tillagda i HR (ditt val): %d",
	confirmed:     "Den här körningen skrev över eller tömde värden för %d av %d anställda, mer än tröskeln på %d %%; den bekräftades av användare %s.",
	failedHeading: "Misslyckades (%d)",
	reasons: map[app.FailureReason]string{
		app.ReasonUnavailable:         "ERP-systemet var inte tillgängligt",
		app.ReasonRateLimited:         "ERP-systemet begränsade anropen för länge",
		app.ReasonUnauthorized:        "ERP-systemet avvisade API-nyckeln",
		app.ReasonRejected:            "ERP-systemet avvisade värdena",
		app.ReasonDuplicateEmail:      "e-postadressen används av en annan anställd",
		app.ReasonDuplicatePhone:      "telefonnumret används av en annan anställd i HR",
		app.ReasonChangedSincePreview: "ändrad sedan förhandsgranskningen",
		app.ReasonHRRejected:          "HR avvisade värdena",
		app.ReasonHRUnavailable:       "HR var inte tillgängligt",
	},
	violationsHeading: "Regelbrott som förhandsgranskningen hittade (%d)",
	violations: map[domain.ViolationKind]string{
		domain.DuplicateEmailInHR:   "e-postadress som delas av flera anställda i HR",
		domain.DuplicatePhoneInHR:   "telefonnummer som delas med en annan anställd i HR",
		domain.DuplicateEmailInERP:  "e-postadress som delas av flera anställda i ERP-systemet",
		domain.MissingRequiredValue: "ett obligatoriskt värde saknas",
	},
	notesHeading: "Lämnade oförändrade (%d)",
	details: map[string]string{
		domain.DetailDuplicateEmailInHR:  "anställda i HR delar den här e-postadressen (HR och ERP-systemet kräver att den är unik): utelämnad tills det har rättats i HR",
		domain.DetailDuplicateEmailInERP: "anställda i ERP-systemet delar den här e-postadressen: utelämnad tills det har rättats i ERP-systemet",
		domain.DetailDuplicatePhoneInHR:  "anställda i HR delar det här telefonnumret (HR kräver att det är unikt): synkroniserade, men inget telefonnummer skrivs till HR för dem",
		domain.DetailERPPhoneTakenInHR:   "telefonnumret i ERP-systemet tillhör en annan anställd i HR (HR kräver att det är unikt): det skrivs inte till HR",
		domain.DetailNoEmail:             "ingen e-postadress: kan varken matchas eller skapas; utelämnad",
		domain.DetailRequiredMissing:     "ett obligatoriskt värde saknas: kan inte skapas på andra sidan",
		domain.NoteIdentificationKept:    "internationalID kan inte tas bort i ERP-systemet: lämnat som ERP-systemet har det",
		domain.NotePhoneNotToHR:          "telefonnumret skrivs inte till HR: en annan anställd i HR har det (HR kräver att det är unikt)",
		domain.NoteRequiredKept:          "ett obligatoriskt värde kan inte tömmas: lämnat som det är",
	},
	moreFailures:  "  ... och %d till (GetSyncRun listar alla misslyckade).",
	more:          "  ... och %d till.",
	missingFill:   "kopierade till sidan som saknade dem",
	missingWinner: "tagna från den vinnande sidan (ett värde den saknade tömdes)",
	choices:       "Dina val: konflikter vunna av %s (%d undantag per fält); saknade värden %s; anställda bara i HR tillagda i %s: %s; anställda bara i %s tillagda i HR: %s.",
	yes:           "ja", no: "nej",
	realTime:  "Varje ändring av ett fält som stöds i HR når nu %s i realtid. Ändringar som görs i %s når HR bara när du synkroniserar användare.",
	notActive: "Anslutningen är inte aktiv än: ändringar i HR sparas och skickas till %s så snart en första synkronisering lyckas.",
	unnamed:   "(namnlös)",
}
