package messages

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

var placeholderRE = regexp.MustCompile(`\{([a-z_]*)\}`)

// allowed lists, per table field, the placeholders it may use; every other
// string field may use none.
var allowed = map[string][]string{
	"Greeting":             {"name"},
	"Footer":               {"tenant"},
	"SubjectMember":        {"tenant"},
	"SubjectIntegration":   {"tenant"},
	"SubjectIntegrator":    {"tenant"},
	"IntroMember":          {"inviter", "tenant"},
	"IntroMemberAnon":      {"tenant"},
	"IntroIntegration":     {"inviter", "tenant"},
	"IntroIntegrationAnon": {"tenant"},
	"IntegrationNeutral":   {"tenant"},
	"IntroIntegrator":      {"inviter", "tenant"},
	"IntroIntegratorAnon":  {"tenant"},
	"IntegratorOnlyOne":    {"tenant"},
	"Expires":              {"expires"},
	"StepOpen":             {"button"},
	"StepCodeInviter":      {"inviter"},
	"StepConfigure":        {"tenant"},
	"TextLink":             {"button"},
	"CodeSubject":          {"invitee", "tenant"},
	"CodeIntro":            {"invitee", "tenant"},
	"CodeValid":            {"duration"},
	"CodeAdvice":           {"invitee"},
	"SMS":                  {"tenant", "code", "duration"},
	"DateFormat":           {"day", "month", "year", "time", "zone"},
}

// required placeholders must appear (a message that drops the tenant or the
// code is wrong even if it renders).
var required = map[string][]string{
	"IntroMember": {"inviter", "tenant"}, "IntroIntegration": {"inviter", "tenant"}, "IntroIntegrator": {"inviter", "tenant"},
	"Expires": {"expires"}, "StepCodeInviter": {"inviter"}, "CodeValid": {"duration"},
	"SMS": {"tenant", "code", "duration"}, "DateFormat": {"day", "month", "year", "time", "zone"},
	"CodeIntro": {"invitee", "tenant"}, "TextLink": {"button"},
}

func TestTablesAreComplete(t *testing.T) {
	t.Parallel()
	for _, l := range []*language{langEN, langNB, langSV, langFR, langRU} {
		t.Run(l.tag, func(t *testing.T) {
			t.Parallel()
			v := reflect.ValueOf(*l.t)
			en := reflect.ValueOf(tableEN)
			for i := 0; i < v.NumField(); i++ {
				name := v.Type().Field(i).Name
				f := v.Field(i)
				switch f.Kind() {
				case reflect.String:
					s := f.String()
					if s == "" && name != "FirstDay" {
						t.Errorf("%s is empty", name)
					}
					if strings.Count(s, "{") != strings.Count(s, "}") {
						t.Errorf("%s has unbalanced braces: %q", name, s)
					}
					found := map[string]bool{}
					for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
						found[m[1]] = true
						ok := false
						for _, a := range allowed[name] {
							ok = ok || a == m[1]
						}
						if !ok {
							t.Errorf("%s uses {%s}, allowed: %v", name, m[1], allowed[name])
						}
					}
					for _, r := range required[name] {
						if !found[r] {
							t.Errorf("%s lacks {%s}: %q", name, r, s)
						}
					}
					// No English left behind in another language's table.
					if l != langEN && s != "" && s == en.Field(i).String() && !placeholderOnly(s) {
						t.Errorf("%s is the English text: %q", name, s)
					}
				case reflect.Array, reflect.Slice:
					for j := 0; j < f.Len(); j++ {
						if f.Index(j).String() == "" {
							t.Errorf("%s[%d] is empty", name, j)
						}
					}
				}
			}
			want := 2
			if l == langRU {
				want = 3
			}
			for _, forms := range [][]string{l.t.Seconds, l.t.Minutes, l.t.Hours, l.t.Days} {
				if len(forms) != want {
					t.Errorf("unit forms %v: want %d", forms, want)
				}
				for n := 0; n < 1000; n++ {
					if i := l.plural(n); i < 0 || i >= len(forms) {
						t.Fatalf("plural(%d) = %d out of range", n, i)
					}
				}
			}
		})
	}
}

// placeholderOnly is true for strings that are nothing but placeholders and
// punctuation, which may well be the same in two languages.
func placeholderOnly(s string) bool {
	return strings.Trim(placeholderRE.ReplaceAllString(s, ""), " :.,") == ""
}

// The SMS templates themselves must stay in GSM-7 (except Russian) and leave
// room for a tenant name in one segment.
func TestSMSTemplateBudget(t *testing.T) {
	t.Parallel()
	for _, l := range []*language{langEN, langNB, langSV, langFR, langRU} {
		s := codeSMS(l, "123456", "X", 21*24*time.Hour)
		n, gsm7 := smsSize(s)
		room := 160 - n
		if l == langRU {
			room = 70 - n
		} else if !gsm7 {
			t.Errorf("%s: SMS template is not GSM-7: %q", l.tag, s)
		}
		if room < 10 {
			t.Errorf("%s: only %d characters left for the tenant name: %q", l.tag, room, s)
		}
		t.Logf("%s: %d units, room for a %d-character tenant name", l.tag, n, room+1)
	}
}

func TestExpandReportsMissingValues(t *testing.T) {
	t.Parallel()
	if _, err := expand("Hello {who}", map[string]string{}); err == nil {
		t.Error("missing value not reported")
	}
	if _, err := expand("Hello {who", map[string]string{"who": "x"}); err == nil {
		t.Error("unterminated placeholder not reported")
	}
	if s, err := expand("{a}{b} {a}", map[string]string{"a": "1", "b": "{2}"}); err != nil || s != "1{2} 1" {
		t.Errorf("expand = %q, %v (values must not be expanded again)", s, err)
	}
}
