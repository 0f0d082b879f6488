package messages

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// table holds every user-visible string of one language. Placeholders are
// written {name}; which ones a field may use is listed next to it and
// checked by the tests.
type table struct {
	Greeting       string // {name}
	GreetingNoName string
	Footer         string // {tenant}

	// Invitation email.
	SubjectMember      string // {tenant}
	SubjectIntegration string // {tenant}
	SubjectIntegrator  string // {tenant}

	IntroMember          string // {inviter} (name and email), {tenant}
	IntroMemberAnon      string // {tenant}
	IntroIntegration     string // {inviter}, {tenant}
	IntroIntegrationAnon string // {tenant}
	IntegrationNeutral   string // {tenant}
	IntroIntegrator      string // {inviter}, {tenant}
	IntroIntegratorAnon  string // {tenant}
	IntegratorRightsLead string
	IntegratorNoAdmins   string
	IntegratorNoDismiss  string
	IntegratorMarker     string
	IntegratorOnlyOne    string // {tenant}
	Expires              string // {expires}
	NextHeading          string
	StepOpen             string // {button}
	StepCodeSMS          string
	StepCodeInviter      string // {inviter} (name only)
	StepSignIn           string
	StepPassword         string
	StepConnect          string
	StepConfigure        string // {tenant}
	Button               string
	ButtonFallback       string
	TextLink             string // {button}; introduces the URL in the plain-text body
	Ignore               string

	// One-time code to the inviter.
	CodeSubject string // {invitee}, {tenant}
	CodeIntro   string // {invitee}, {tenant}
	CodeValid   string // {duration}
	CodeAdvice  string // {invitee}

	// SMS; keep it short (one segment) and, except for Russian, in GSM-7.
	SMS string // {tenant}, {code}, {duration}

	// Dates and durations.
	DateFormat string // {day}, {month}, {year}, {time}, {zone}
	FirstDay   string // the 1st of a month where the language writes it specially (fr "1er"); else empty
	Months     [12]string
	// Unit forms, indexed by the language's plural rule, in the case used
	// after "valid for" (Russian accusative: минуту, минуты, минут).
	Seconds, Minutes, Hours, Days []string
}

type language struct {
	tag    string
	t      *table
	plural func(n int) int // index into the unit forms
}

// pluralOneOther is the rule of en, nb, sv: 1 is singular.
func pluralOneOther(n int) int {
	if n == 1 {
		return 0
	}
	return 1
}

// pluralFrench: 0 and 1 are singular.
func pluralFrench(n int) int {
	if n < 2 {
		return 0
	}
	return 1
}

// pluralRussian: 1, 21, 31... one; 2-4, 22-24... few; the rest many.
func pluralRussian(n int) int {
	m10, m100 := n%10, n%100
	switch {
	case m10 == 1 && m100 != 11:
		return 0
	case m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14):
		return 1
	}
	return 2
}

var (
	langEN = &language{tag: "en", t: &tableEN, plural: pluralOneOther}
	langNB = &language{tag: "nb", t: &tableNB, plural: pluralOneOther}
	langSV = &language{tag: "sv", t: &tableSV, plural: pluralOneOther}
	langFR = &language{tag: "fr", t: &tableFR, plural: pluralFrench}
	langRU = &language{tag: "ru", t: &tableRU, plural: pluralRussian}

	byPrimary = map[string]*language{
		"en": langEN,
		"nb": langNB, "no": langNB, "nn": langNB,
		"sv": langSV,
		"fr": langFR,
		"ru": langRU,
	}
)

// Languages lists the tags with their own texts, English first.
func Languages() []string { return []string{"en", "nb", "sv", "fr", "ru"} }

// Language returns the language the texts for tag are written in: "nb",
// "sv", "fr", "ru" or "en". The primary subtag decides, case-insensitively
// ("sv-FI" → "sv", "NO" → "nb"); anything else is "en".
func Language(tag string) string { return lookup(tag).tag }

func lookup(tag string) *language {
	primary, _, _ := strings.Cut(strings.TrimSpace(tag), "-")
	primary, _, _ = strings.Cut(primary, "_") // POSIX-style "nb_NO"
	if l, ok := byPrimary[strings.ToLower(primary)]; ok {
		return l
	}
	return langEN
}

// expand replaces {key} placeholders in s with vals. A placeholder without
// a value is a bug in a table; it is reported rather than sent.
func expand(s string, vals map[string]string) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("messages: unterminated placeholder in %q", s)
		}
		key := s[i+1 : i+j]
		v, ok := vals[key]
		if !ok {
			return "", fmt.Errorf("messages: no value for placeholder {%s}", key)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+1:]
	}
}

// Duration says how long something is valid in lang, in the largest whole
// unit: "7 days", "36 hours", "90 minutes", "10 minutes", "30 seconds".
// Parts of the smallest unit shown are dropped (so the time is never
// overstated); anything under a second counts as one second.
func Duration(lang string, d time.Duration) string { return lookup(lang).duration(d) }

func (l *language) duration(d time.Duration) string {
	const day = 24 * time.Hour
	var n int64
	var forms []string
	switch {
	case d >= day && d%day == 0:
		n, forms = int64(d/day), l.t.Days
	case d >= time.Hour && d%time.Hour == 0 || d >= day:
		n, forms = int64(d/time.Hour), l.t.Hours
	case d >= time.Minute:
		n, forms = int64(d/time.Minute), l.t.Minutes
	default:
		n, forms = max(int64(d/time.Second), 1), l.t.Seconds
	}
	return strconv.FormatInt(n, 10) + " " + forms[l.plural(int(n))]
}

// Date writes t in lang as a day, month name, year, 24-hour time and the
// zone's abbreviation, in loc (UTC when nil): "30 November 2026 at 14:00 UTC",
// "30. november 2026 kl. 15:00 CET", "30 ноября 2026 г., 14:00 UTC".
func Date(lang string, t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return lookup(lang).date(t.In(loc))
}

func (l *language) date(t time.Time) string {
	day := strconv.Itoa(t.Day())
	if t.Day() == 1 && l.t.FirstDay != "" {
		day = l.t.FirstDay
	}
	s, err := expand(l.t.DateFormat, map[string]string{
		"day":   day,
		"month": l.t.Months[t.Month()-1],
		"year":  strconv.Itoa(t.Year()),
		"time":  t.Format("15:04"),
		"zone":  t.Format("MST"),
	})
	if err != nil {
		panic(err) // the tables are checked by the tests
	}
	return s
}
