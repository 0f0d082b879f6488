package messages

// Swedish, in the vocabulary of Swedish invitation help pages ("inbjudan",
// "engångskod", "Till inbjudan", "inloggningsmetod").
var tableSV = table{
	Greeting:       "Hej {name},",
	GreetingNoName: "Hej,",
	Footer:         "Skickat av Rollcall på uppdrag av {tenant}.",

	SubjectMember:      "Inbjudan till {tenant}",
	SubjectIntegration: "Inbjudan: integrationsanvändare för {tenant}",
	SubjectIntegrator:  "Inbjudan till {tenant} som integratör",

	IntroMember:          "{inviter} har bjudit in dig till {tenant}.",
	IntroMemberAnon:      "Du har bjudits in till {tenant}.",
	IntroIntegration:     "{inviter} har skapat en integrationsanvändare för {tenant} med den här e-postadressen.",
	IntroIntegrationAnon: "En integrationsanvändare för {tenant} har skapats med den här e-postadressen.",
	IntegrationNeutral: "En integrationsanvändare är en neutral användare som inte är kopplad till en verklig person. " +
		"Den används för att koppla {tenant} till ett tredjepartssystem och fortsätter att fungera även när " +
		"anställda slutar eller får andra behörigheter. Därför bör e-postadressen inte tillhöra en anställd.",
	IntroIntegrator:      "{inviter} har bjudit in dig till {tenant} som integratör, den partner som hjälper till att konfigurera portalen.",
	IntroIntegratorAnon:  "Du har bjudits in till {tenant} som integratör, den partner som hjälper till att konfigurera portalen.",
	IntegratorRightsLead: "Som integratör får du administratörsbehörighet, med några begränsningar:",
	IntegratorNoAdmins:   "Du kan inte skapa andra administratörer.",
	IntegratorNoDismiss:  "Du kan inte säga upp anställda.",
	IntegratorMarker:     "Du visas med märkningen ”Integratör” i personallistan.",
	IntegratorOnlyOne: "Det kan bara finnas en aktiv integratör åt gången. Om en annan integratör bjuds in, eller " +
		"om administratören avslutar din åtkomst, kan du inte längre logga in i {tenant}.",
	Expires:         "Inbjudan gäller till {expires}, och länken kan bara användas en gång.",
	NextHeading:     "Så här går du vidare",
	StepOpen:        "Klicka på länken ”{button}” nedan.",
	StepCodeSMS:     "Ange engångskoden som skickas med sms till din mobil.",
	StepCodeInviter: "Ange engångskoden som du får av {inviter}.",
	StepSignIn: "Har du redan en profil loggar du in med den inloggningsmetod du använder i dag. Annars väljer du " +
		"önskad inloggningsmetod för att slutföra registreringen: BankID eller ett konto med leverantörens profil.",
	StepPassword:   "Välj ett lösenord för integrationsanvändaren.",
	StepConnect:    "Använd den här e-postadressen och det nya lösenordet för att slutföra kopplingen av integrationen.",
	StepConfigure:  "Logga in i {tenant} och börja konfigurera.",
	Button:         "Till inbjudan",
	ButtonFallback: "Fungerar inte knappen? Kopiera den här länken till webbläsaren:",
	TextLink:       "{button}:",
	Ignore:         "Om du inte väntade dig den här inbjudan kan du bortse från det här mejlet.",

	CodeSubject: "Engångskod för {invitee} ({tenant})",
	CodeIntro: "Du valde att få engångskoden för inbjudan av {invitee} till {tenant} skickad till dig. " +
		"{invitee} behöver den för att slutföra inbjudan:",
	CodeValid: "Koden gäller i {duration}.",
	CodeAdvice: "Ge koden vidare till {invitee} själv, till exempel per telefon eller personligen. Vidarebefordra " +
		"inte det här mejlet och dela inte koden med någon annan.",

	SMS: "Din engångskod för {tenant}: {code}. Giltig i {duration}. Dela den aldrig med någon.",

	DateFormat: "{day} {month} {year} kl. {time} {zone}",
	Months: [12]string{"januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
		"september", "oktober", "november", "december"},
	Seconds: []string{"sekund", "sekunder"},
	Minutes: []string{"minut", "minuter"},
	Hours:   []string{"timme", "timmar"},
	Days:    []string{"dag", "dagar"},
}
