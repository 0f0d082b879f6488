package messages

// Norwegian Bokmål, in the vocabulary of Norwegian ERP help pages
// ("invitasjon", "engangskode", "integrasjonsbruker", "nøytral bruker").
var tableNB = table{
	Greeting:       "Hei {name},",
	GreetingNoName: "Hei,",
	Footer:         "Sendt av Rollcall på vegne av {tenant}.",

	SubjectMember:      "Invitasjon til {tenant}",
	SubjectIntegration: "Invitasjon: integrasjonsbruker for {tenant}",
	SubjectIntegrator:  "Invitasjon som integrator i {tenant}",

	IntroMember:          "{inviter} har invitert deg til {tenant}.",
	IntroMemberAnon:      "Du er invitert til {tenant}.",
	IntroIntegration:     "{inviter} har opprettet en integrasjonsbruker for {tenant} med denne e-postadressen.",
	IntroIntegrationAnon: "Det er opprettet en integrasjonsbruker for {tenant} med denne e-postadressen.",
	IntegrationNeutral: "En integrasjonsbruker er en nøytral bruker som ikke er koblet til en reell person. Den brukes " +
		"til å koble {tenant} mot et tredjepartssystem, og integrasjonen virker videre selv om ansatte slutter " +
		"eller får andre tilganger. Derfor bør denne e-postadressen ikke tilhøre en ansatt.",
	IntroIntegrator:      "{inviter} har invitert deg til {tenant} som integrator, partneren som hjelper til med å sette opp portalen.",
	IntroIntegratorAnon:  "Du er invitert til {tenant} som integrator, partneren som hjelper til med å sette opp portalen.",
	IntegratorRightsLead: "Som integrator får du administratorrettigheter, med noen begrensninger:",
	IntegratorNoAdmins:   "Du kan ikke opprette andre administratorer.",
	IntegratorNoDismiss:  "Du kan ikke si opp ansatte.",
	IntegratorMarker:     "Du vises med merket «Integrator» i ansattlisten.",
	IntegratorOnlyOne: "Det kan bare være én aktiv integrator om gangen. Hvis en annen integrator blir invitert, " +
		"eller administratoren avslutter tilgangen din, kan du ikke lenger logge inn i {tenant}.",
	Expires:         "Invitasjonen er gyldig til {expires}, og lenken kan bare brukes én gang.",
	NextHeading:     "Slik går du videre",
	StepOpen:        "Klikk på «{button}» nedenfor.",
	StepCodeSMS:     "Skriv inn engangskoden du får på SMS til mobilen din.",
	StepCodeInviter: "Skriv inn engangskoden som {inviter} gir deg.",
	StepSignIn: "Har du en profil fra før, logger du inn med innloggingsmetoden du bruker i dag. Hvis ikke, " +
		"velger du hvordan du vil logge inn for å fullføre registreringen: BankID eller en profil hos tjenesteleverandøren.",
	StepPassword:   "Velg et passord for integrasjonsbrukeren.",
	StepConnect:    "Bruk denne e-postadressen og det nye passordet for å fullføre koblingen i integrasjonen.",
	StepConfigure:  "Logg inn i {tenant} og start oppsettet.",
	Button:         "Til invitasjonen",
	ButtonFallback: "Fungerer ikke knappen? Kopier denne lenken inn i nettleseren:",
	TextLink:       "{button}:",
	Ignore:         "Hvis du ikke ventet denne invitasjonen, kan du se bort fra denne e-posten.",

	CodeSubject: "Engangskode for {invitee} ({tenant})",
	CodeIntro: "Du valgte å få engangskoden for invitasjonen av {invitee} til {tenant} sendt til deg. " +
		"{invitee} trenger den for å fullføre invitasjonen:",
	CodeValid: "Koden er gyldig i {duration}.",
	CodeAdvice: "Gi koden videre til {invitee} selv, for eksempel på telefon eller ansikt til ansikt. Ikke " +
		"videresend denne e-posten, og ikke del koden med andre.",

	SMS: "Din engangskode for {tenant}: {code}. Gyldig i {duration}. Ikke del den med noen.",

	DateFormat: "{day}. {month} {year} kl. {time} {zone}",
	Months: [12]string{"januar", "februar", "mars", "april", "mai", "juni", "juli", "august",
		"september", "oktober", "november", "desember"},
	Seconds: []string{"sekund", "sekunder"},
	Minutes: []string{"minutt", "minutter"},
	Hours:   []string{"time", "timer"},
	Days:    []string{"dag", "dager"},
}
