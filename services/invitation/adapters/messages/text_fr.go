package messages

// French. Emails use a no-break space (U+00A0) before ":" and inside « »;
// the SMS uses plain spaces to stay in GSM-7.
var tableFR = table{
	Greeting:       "Bonjour {name},",
	GreetingNoName: "Bonjour,",
	Footer:         "Envoyé par Rollcall pour le compte de {tenant}.",

	SubjectMember:      "Invitation à rejoindre {tenant}",
	SubjectIntegration: "Invitation\u00a0: utilisateur d'intégration pour {tenant}",
	SubjectIntegrator:  "Invitation en tant qu'intégrateur sur {tenant}",

	IntroMember:          "{inviter} vous invite à rejoindre {tenant}.",
	IntroMemberAnon:      "Vous avez reçu une invitation à rejoindre {tenant}.",
	IntroIntegration:     "{inviter} a créé un utilisateur d'intégration pour {tenant} avec cette adresse e-mail.",
	IntroIntegrationAnon: "Un utilisateur d'intégration a été créé pour {tenant} avec cette adresse e-mail.",
	IntegrationNeutral: "Un utilisateur d'intégration est un utilisateur neutre, qui n'est rattaché à aucune personne " +
		"réelle. Il sert à connecter {tenant} à un système tiers et continue de fonctionner même lorsque des " +
		"employés partent ou changent de droits d'accès. Cette adresse ne doit donc pas appartenir à un employé.",
	IntroIntegrator:      "{inviter} vous invite sur {tenant} en tant qu'intégrateur, le partenaire chargé de configurer le portail.",
	IntroIntegratorAnon:  "Vous avez reçu une invitation sur {tenant} en tant qu'intégrateur, le partenaire chargé de configurer le portail.",
	IntegratorRightsLead: "En tant qu'intégrateur, vous disposez des droits d'administrateur, avec quelques limites\u00a0:",
	IntegratorNoAdmins:   "Vous ne pouvez pas créer d'autres administrateurs.",
	IntegratorNoDismiss:  "Vous ne pouvez pas licencier d'employés.",
	IntegratorMarker:     "Vous apparaissez avec le badge «\u00a0Intégrateur\u00a0» dans la liste des employés.",
	IntegratorOnlyOne: "Un seul intégrateur peut être actif à la fois. Si un autre intégrateur est invité, ou si " +
		"l'administrateur met fin à votre accès, vous ne pourrez plus vous connecter à {tenant}.",
	Expires:         "L'invitation est valable jusqu'au {expires} et le lien ne peut être utilisé qu'une seule fois.",
	NextHeading:     "Prochaines étapes",
	StepOpen:        "Cliquez sur «\u00a0{button}\u00a0» ci-dessous.",
	StepCodeSMS:     "Saisissez le code à usage unique que nous vous envoyons par SMS sur votre mobile.",
	StepCodeInviter: "Saisissez le code à usage unique que {inviter} vous communiquera.",
	StepSignIn: "Si vous avez déjà un profil, connectez-vous avec votre méthode de connexion habituelle. Sinon, " +
		"choisissez une méthode de connexion pour finaliser votre inscription\u00a0: BankID ou un profil auprès " +
		"de votre fournisseur de services.",
	StepPassword:   "Choisissez un mot de passe pour l'utilisateur d'intégration.",
	StepConnect:    "Utilisez cette adresse e-mail et le nouveau mot de passe pour finaliser la connexion de l'intégration.",
	StepConfigure:  "Connectez-vous à {tenant} et commencez la configuration.",
	Button:         "Accéder à l'invitation",
	ButtonFallback: "Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur\u00a0:",
	TextLink:       "{button}\u00a0:",
	Ignore:         "Si vous n'attendiez pas cette invitation, vous pouvez ignorer cet e-mail.",

	CodeSubject: "Code à usage unique pour {invitee} ({tenant})",
	CodeIntro: "Vous avez choisi de recevoir vous-même le code à usage unique de l'invitation de {invitee} à " +
		"{tenant}. {invitee} en a besoin pour finaliser l'invitation\u00a0:",
	CodeValid: "Le code est valable {duration}.",
	CodeAdvice: "Transmettez le code à {invitee} vous-même, par exemple par téléphone ou en personne. Ne " +
		"transférez pas cet e-mail et ne communiquez le code à personne d'autre.",

	SMS: "Votre code à usage unique pour {tenant} : {code}. Valable {duration}. Ne le partagez jamais.",

	DateFormat: "{day} {month} {year} à {time} {zone}",
	FirstDay:   "1er",
	Months: [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
		"septembre", "octobre", "novembre", "décembre"},
	Seconds: []string{"seconde", "secondes"},
	Minutes: []string{"minute", "minutes"},
	Hours:   []string{"heure", "heures"},
	Days:    []string{"jour", "jours"},
}
