package messages

var tableEN = table{
	Greeting:       "Hello {name},",
	GreetingNoName: "Hello,",
	Footer:         "Sent by Rollcall on behalf of {tenant}.",

	SubjectMember:      "Invitation to {tenant}",
	SubjectIntegration: "Invitation: integration user for {tenant}",
	SubjectIntegrator:  "Integrator invitation to {tenant}",

	IntroMember:          "{inviter} has invited you to {tenant}.",
	IntroMemberAnon:      "You have been invited to {tenant}.",
	IntroIntegration:     "{inviter} has created an integration user for {tenant} with this email address.",
	IntroIntegrationAnon: "An integration user for {tenant} has been created with this email address.",
	IntegrationNeutral: "An integration user is a neutral user that is not tied to a real person. It connects {tenant} " +
		"to a third-party system and keeps working when employees leave or change access, which is why this " +
		"address should not belong to an employee.",
	IntroIntegrator:      "{inviter} has invited you to {tenant} as an integrator, the partner who helps configure the portal.",
	IntroIntegratorAnon:  "You have been invited to {tenant} as an integrator, the partner who helps configure the portal.",
	IntegratorRightsLead: "As an integrator you get administrator rights, with a few limits:",
	IntegratorNoAdmins:   "You cannot create other administrators.",
	IntegratorNoDismiss:  "You cannot dismiss employees.",
	IntegratorMarker:     "You are shown with the “Integrator” label in the employee list.",
	IntegratorOnlyOne: "Only one integrator can be active at a time. If another integrator is invited, or the " +
		"administrator ends your access, you can no longer sign in to {tenant}.",
	Expires:         "The invitation is valid until {expires}, and the link can be used only once.",
	NextHeading:     "What happens next",
	StepOpen:        "Click “{button}” below.",
	StepCodeSMS:     "Enter the one-time code we send by SMS to your mobile phone.",
	StepCodeInviter: "Enter the one-time code that {inviter} will give you.",
	StepSignIn: "If you already have a profile, sign in with the login method you use today. If not, choose " +
		"how you want to sign in to finish registering: BankID or a profile with your service provider.",
	StepPassword:   "Choose a password for the integration user.",
	StepConnect:    "Use this email address and the new password to finish connecting the integration.",
	StepConfigure:  "Sign in to {tenant} and start the configuration.",
	Button:         "Go to the invitation",
	ButtonFallback: "If the button does not work, copy this link into your browser:",
	TextLink:       "{button}:",
	Ignore:         "If you were not expecting this invitation, you can ignore this email.",

	CodeSubject: "One-time code for {invitee} ({tenant})",
	CodeIntro: "You chose to receive the one-time code for the invitation of {invitee} to {tenant}. " +
		"{invitee} needs it to complete the invitation:",
	CodeValid: "The code is valid for {duration}.",
	CodeAdvice: "Give the code to {invitee} yourself, for example by phone or in person. Do not forward this " +
		"email, and do not share the code with anyone else.",

	SMS: "Your one-time code for {tenant}: {code}. Valid for {duration}. Never share it.",

	DateFormat: "{day} {month} {year} at {time} {zone}",
	Months: [12]string{"January", "February", "March", "April", "May", "June", "July", "August",
		"September", "October", "November", "December"},
	Seconds: []string{"second", "seconds"},
	Minutes: []string{"minute", "minutes"},
	Hours:   []string{"hour", "hours"},
	Days:    []string{"day", "days"},
}
