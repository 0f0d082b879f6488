// Package letter writes the letter an application manager prints and hands
// to the vendor of an external application when a service user is created
// or its password reset (seed 002): the company code, the service user's
// code and its password, which is permanent. Plain text and PDF, in the
// service user's communication language (nb, sv, fr, en; others get
// English).
//
// The letter carries a password: callers return it once and never store or
// log it.
package letter

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"rollcall.dev/services/identity/app"
)

// Data is what a letter says.
type Data struct {
	TenantName  string
	CompanyCode string
	UserCode    string
	Password    string
	Application string
	Language    string
	Reset       bool // a reset rather than a new user
	Date        time.Time
}

type text struct {
	title, titleReset, intro, company, user, password, app, permanent, keep, date string
}

var texts = map[string]text{
	"en": {
		title: "Service user (API only)", titleReset: "Service user (API only): new password",
		intro:   "Please give the following credentials to the vendor of the external application, so that they can be entered in the application. This user can only be used for the API; it cannot sign in to the web or mobile application.",
		company: "Company code", user: "User code", password: "Password", app: "Application",
		permanent: "The password is permanent: it never has to be changed.",
		keep:      "Keep this letter safe. The password is shown only once; if it is lost, reset it to print a new letter.",
		date:      "Date",
	},
	"nb": {
		title: "Tjenestebruker (kun API)", titleReset: "Tjenestebruker (kun API): nytt passord",
		intro:   "Gi opplysningene nedenfor til leverandøren av den eksterne applikasjonen, slik at de kan legges inn i applikasjonen. Brukeren kan bare brukes mot API-et; den kan ikke logge inn i nett- eller mobilapplikasjonen.",
		company: "Firmakode", user: "Brukerkode", password: "Passord", app: "Applikasjon",
		permanent: "Passordet er permanent: det må aldri endres.",
		keep:      "Oppbevar brevet trygt. Passordet vises bare én gang; mistes det, tilbakestill det og skriv ut et nytt brev.",
		date:      "Dato",
	},
	"sv": {
		title: "Tjänsteanvändare (endast API)", titleReset: "Tjänsteanvändare (endast API): nytt lösenord",
		intro:   "Lämna uppgifterna nedan till leverantören av den externa applikationen så att de kan läggas in i applikationen. Användaren kan bara användas mot API:t; den kan inte logga in i webb- eller mobilapplikationen.",
		company: "Företagskod", user: "Användarkod", password: "Lösenord", app: "Applikation",
		permanent: "Lösenordet är permanent: det behöver aldrig ändras.",
		keep:      "Förvara brevet säkert. Lösenordet visas bara en gång; om det tappas bort, återställ det och skriv ut ett nytt brev.",
		date:      "Datum",
	},
	"fr": {
		title: "Utilisateur de services (exclusif à l'API)", titleReset: "Utilisateur de services (exclusif à l'API) : nouveau mot de passe",
		intro:   "Veuillez transmettre le code d'entreprise, le code utilisateur de services ainsi que le mot de passe à votre fournisseur afin que ces informations soient intégrées à l'application de service. Cet utilisateur ne peut être utilisé que pour l'API ; il ne peut pas s'authentifier dans l'application web ni dans l'application mobile.",
		company: "Code d'entreprise", user: "Code d'utilisateur", password: "Mot de passe", app: "Application",
		permanent: "Le mot de passe est permanent : aucune mise à jour n'est requise par la suite.",
		keep:      "Conservez cette lettre en lieu sûr. Le mot de passe n'est affiché qu'une fois ; s'il est perdu, réinitialisez-le pour imprimer une nouvelle lettre.",
		date:      "Date",
	},
}

// Lang returns the language a letter is written in for a BCP 47 tag.
func Lang(tag string) string {
	primary, _, _ := strings.Cut(tag, "-")
	if _, ok := texts[primary]; ok {
		return primary
	}
	return "en"
}

func (d Data) lines() (title string, rows [][2]string, paragraphs []string) {
	t := texts[Lang(d.Language)]
	title = t.title
	if d.Reset {
		title = t.titleReset
	}
	rows = [][2]string{{t.company, d.CompanyCode}, {t.user, d.UserCode}, {t.password, d.Password}}
	if d.Application != "" {
		rows = append(rows, [2]string{t.app, d.Application})
	}
	rows = append(rows, [2]string{t.date, d.Date.Format("2006-01-02")})
	return title, rows, []string{t.intro, t.permanent, t.keep}
}

// Text is the letter as plain text.
func Text(d Data) string {
	title, rows, paras := d.lines()
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n%s\n\n%s\n\n", d.TenantName, title, strings.Repeat("=", len([]rune(title))), paras[0])
	width := 0
	for _, r := range rows {
		width = max(width, len([]rune(r[0])))
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "  %s:%s %s\n", r[0], strings.Repeat(" ", width-len([]rune(r[0]))), r[1])
	}
	fmt.Fprintf(&b, "\n%s\n%s\n", paras[1], paras[2])
	return b.String()
}

// PDF is the letter as an A4 PDF document.
func PDF(d Data) ([]byte, error) {
	title, rows, paras := d.lines()
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle(title, true)
	pdf.SetCreator("Rollcall identity", true)
	tr := pdf.UnicodeTranslatorFromDescriptor("") // cp1252: covers nb, sv, fr
	pdf.AddPage()
	pdf.SetFont("Helvetica", "", 11)
	pdf.CellFormat(0, 6, tr(d.TenantName), "", 1, "L", false, 0, "")
	pdf.Ln(8)
	pdf.SetFont("Helvetica", "B", 16)
	pdf.MultiCell(0, 8, tr(title), "", "L", false)
	pdf.Ln(4)
	pdf.SetFont("Helvetica", "", 11)
	pdf.MultiCell(0, 5.5, tr(paras[0]), "", "L", false)
	pdf.Ln(6)
	for _, r := range rows {
		pdf.SetFont("Helvetica", "", 11)
		pdf.CellFormat(50, 8, tr(r[0]), "1", 0, "L", false, 0, "")
		pdf.SetFont("Courier", "B", 12)
		pdf.CellFormat(0, 8, tr(r[1]), "1", 1, "L", false, 0, "")
	}
	pdf.Ln(6)
	pdf.SetFont("Helvetica", "", 11)
	pdf.MultiCell(0, 5.5, tr(paras[1]), "", "L", false)
	pdf.Ln(2)
	pdf.MultiCell(0, 5.5, tr(paras[2]), "", "L", false)
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("letter: pdf: %w", err)
	}
	return buf.Bytes(), nil
}

// Writer is the app's LetterWriter: plain text and PDF.
type Writer struct{}

var _ app.LetterWriter = Writer{}

// Write renders the letter.
func (Writer) Write(in app.LetterInput) (app.Letter, error) {
	d := Data{TenantName: in.TenantName, CompanyCode: in.CompanyCode, UserCode: in.UserCode, Password: in.Password,
		Application: in.Application, Language: in.Language, Reset: in.Reset, Date: time.Now().UTC()}
	pdf, err := PDF(d)
	if err != nil {
		return app.Letter{}, err
	}
	return app.Letter{CompanyCode: in.CompanyCode, UserCode: in.UserCode, Password: in.Password, Language: Lang(in.Language),
		Text: Text(d), PDF: pdf}, nil
}
