package messages_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Oslo on machines without a zoneinfo database

	"rollcall.dev/services/invitation/adapters/messages"
)

var (
	kinds      = []messages.Kind{messages.KindMember, messages.KindIntegration, messages.KindIntegrator}
	deliveries = []messages.CodeDelivery{messages.CodeBySMS, messages.CodeToInviter, messages.CodeNone}
	expires    = time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)
)

func invitation(lang string, k messages.Kind, d messages.CodeDelivery) messages.Invitation {
	return messages.Invitation{
		Language:     lang,
		Kind:         k,
		TenantName:   "Nordlys Regnskap AS",
		InviteeName:  "Kari Nordmann",
		InviterName:  "Ola Hansen",
		InviterEmail: "ola@nordlys.example",
		AcceptURL:    "https://rollcall.example/invite?token=abc123&tenant=42",
		ExpiresAt:    expires,
		CodeDelivery: d,
	}
}

// leftovers are signs of a placeholder or template that was not filled in.
var leftovers = []string{"{", "}", "<no value>", "%!", "ZgotmplZ", "[]"}

func checkRendered(t *testing.T, what, s string) {
	t.Helper()
	if strings.TrimSpace(s) == "" {
		t.Errorf("%s is empty", what)
	}
	for _, bad := range leftovers {
		if strings.Contains(s, bad) {
			t.Errorf("%s contains %q:\n%s", what, bad, s)
		}
	}
}

func TestEveryLanguageKindAndDeliveryRenders(t *testing.T) {
	t.Parallel()
	for _, lang := range messages.Languages() {
		for _, k := range kinds {
			for _, d := range deliveries {
				t.Run(fmt.Sprintf("%s/%s/%s", lang, k, d), func(t *testing.T) {
					t.Parallel()
					inv := invitation(lang, k, d)
					e, err := messages.InvitationEmail(inv)
					if err != nil {
						t.Fatal(err)
					}
					checkRendered(t, "subject", e.Subject)
					checkRendered(t, "text", e.Text)
					// The HTML has CSS braces; check the visible text of the body only.
					checkRendered(t, "html body", htmlBody(e.HTML))
					if strings.ContainsAny(e.Subject, "\r\n") {
						t.Errorf("subject spans lines: %q", e.Subject)
					}
					for _, want := range []string{inv.TenantName, inv.InviteeName, inv.InviterName, inv.AcceptURL,
						messages.Date(lang, expires, nil)} {
						if !strings.Contains(e.Text, want) {
							t.Errorf("text lacks %q:\n%s", want, e.Text)
						}
					}
					if !strings.Contains(e.HTML, `<html lang="`+lang+`">`) {
						t.Errorf("html lacks lang=%q", lang)
					}
					if !strings.Contains(e.HTML, `href="https://rollcall.example/invite?token=abc123&amp;tenant=42"`) {
						t.Errorf("html lacks the link:\n%s", e.HTML)
					}

					c, err := messages.CodeToInviterEmail(lang, inv, "123456", 10*time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					checkRendered(t, "code subject", c.Subject)
					checkRendered(t, "code text", c.Text)
					checkRendered(t, "code html body", htmlBody(c.HTML))
					for _, want := range []string{"123456", inv.InviteeName, inv.InviterName, messages.Duration(lang, 10*time.Minute)} {
						if !strings.Contains(c.Text, want) || !strings.Contains(c.HTML, want) {
							t.Errorf("code email lacks %q:\n%s", want, c.Text)
						}
					}
					if strings.Contains(c.Text, "token=") || strings.Contains(c.HTML, "token=") {
						t.Error("the invitee's link leaked into the inviter's email")
					}

					sms := messages.CodeSMS(lang, "123456", inv.TenantName, 10*time.Minute)
					checkRendered(t, "sms", sms)
					if !strings.Contains(sms, "123456") {
						t.Errorf("sms lacks the code: %q", sms)
					}
				})
			}
		}
	}
}

// htmlBody returns what is between <body> and </body>.
func htmlBody(h string) string {
	_, after, _ := strings.Cut(h, "<body")
	body, _, _ := strings.Cut(after, "</body>")
	// Drop style attributes, which hold CSS, not text.
	var b strings.Builder
	for {
		i := strings.Index(body, ` style="`)
		if i < 0 {
			b.WriteString(body)
			return b.String()
		}
		b.WriteString(body[:i])
		j := strings.IndexByte(body[i+8:], '"')
		body = body[i+8+j+1:]
	}
}

func TestKindsDiffer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind      messages.Kind
		delivery  messages.CodeDelivery
		want, not []string
	}{
		{messages.KindMember, messages.CodeBySMS, []string{"one-time code we send by SMS", "BankID"}, []string{"Ola Hansen will give you", "integration user", "integrator"}},
		{messages.KindMember, messages.CodeToInviter, []string{"one-time code that Ola Hansen will give you", "BankID"}, []string{"SMS"}},
		{messages.KindMember, messages.CodeNone, []string{"BankID"}, []string{"one-time code"}},
		{messages.KindIntegration, messages.CodeBySMS, []string{"neutral user", "password"}, []string{"one-time code", "BankID"}},
		{messages.KindIntegrator, messages.CodeNone, []string{"as an integrator", "cannot create other administrators", "cannot dismiss employees", "“Integrator”", "Only one integrator"}, []string{"one-time code", "BankID"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String()+"/"+tt.delivery.String(), func(t *testing.T) {
			t.Parallel()
			e, err := messages.InvitationEmail(invitation("en", tt.kind, tt.delivery))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(e.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, e.Text)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(e.Text, n) {
					t.Errorf("text has %q:\n%s", n, e.Text)
				}
			}
		})
	}
}

func TestLanguageMatching(t *testing.T) {
	t.Parallel()
	tests := []struct{ tag, want string }{
		{"nb", "nb"}, {"no", "nb"}, {"nn", "nb"}, {"nb-NO", "nb"}, {"NO", "nb"}, {"nn_NO", "nb"}, {"nb_NO.UTF-8", "nb"},
		{"sv", "sv"}, {"sv-FI", "sv"}, {"SV-se", "sv"},
		{"fr", "fr"}, {"fr-CA", "fr"}, {"Fr-ch", "fr"},
		{"ru", "ru"}, {"ru-RU", "ru"}, {"RU", "ru"},
		{"en", "en"}, {"en-GB", "en"}, {"", "en"}, {"   ", "en"}, {"de", "en"}, {"da-DK", "en"},
		{"x-klingon", "en"}, {"sve", "en"}, {"nor", "en"}, {"-sv", "en"}, {" sv ", "sv"},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			t.Parallel()
			if got := messages.Language(tt.tag); got != tt.want {
				t.Errorf("Language(%q) = %q, want %q", tt.tag, got, tt.want)
			}
		})
	}
}

func TestEnglishFallback(t *testing.T) {
	t.Parallel()
	en, err := messages.InvitationEmail(invitation("en", messages.KindMember, messages.CodeBySMS))
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"", "de", "pt-BR", "zz", "i-default", "fi-FI"} {
		t.Run(tag, func(t *testing.T) {
			t.Parallel()
			e, err := messages.InvitationEmail(invitation(tag, messages.KindMember, messages.CodeBySMS))
			if err != nil {
				t.Fatal(err)
			}
			if e.Text != en.Text || e.Subject != en.Subject {
				t.Errorf("tag %q did not fall back to English:\n%s", tag, e.Text)
			}
			if !strings.Contains(e.HTML, `lang="en"`) {
				t.Error("html lang is not en")
			}
			if got, want := messages.CodeSMS(tag, "123456", "Acme", 10*time.Minute),
				"Your one-time code for Acme: 123456. Valid for 10 minutes. Never share it."; got != want {
				t.Errorf("sms = %q, want %q", got, want)
			}
		})
	}
}

func TestHTMLEscapesEveryValue(t *testing.T) {
	t.Parallel()
	const script = `<script>alert("x")</script>`
	inv := invitation("nb", messages.KindMember, messages.CodeToInviter)
	inv.InviteeName = script
	inv.InviterName = `Ola <img src=x onerror=alert(1)>`
	inv.TenantName = `A&B "Regnskap" <b>AS</b>`
	inv.AcceptURL = `https://rollcall.example/invite?token=a"b<c>&x=1`
	for _, k := range kinds {
		inv.Kind = k
		e, err := messages.InvitationEmail(inv)
		if err != nil {
			t.Fatal(err)
		}
		c, err := messages.CodeToInviterEmail("nb", inv, "123456", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{e.HTML, c.HTML} {
			for _, raw := range []string{"<script", "<img", "<b>", `"Regnskap"`, `a"b`, "<c>"} {
				if strings.Contains(h, raw) {
					t.Errorf("%s: html contains unescaped %q", k, raw)
				}
			}
			for _, esc := range []string{"&lt;script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "A&amp;B &#34;Regnskap&#34; &lt;b&gt;AS&lt;/b&gt;"} {
				if !strings.Contains(h, esc) {
					t.Errorf("%s: html lacks escaped %q", k, esc)
				}
			}
		}
		// The plain text is not HTML: values appear as they are.
		if !strings.Contains(e.Text, script) {
			t.Errorf("text lost the raw name:\n%s", e.Text)
		}
	}
}

func TestControlCharactersCannotBreakLines(t *testing.T) {
	t.Parallel()
	inv := invitation("en", messages.KindMember, messages.CodeBySMS)
	inv.TenantName = "Acme\r\nBcc: victim@example.com"
	inv.InviteeName = "Kari\u2028Nordmann\t"
	e, err := messages.InvitationEmail(inv)
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject != "Invitation to Acme Bcc: victim@example.com" {
		t.Errorf("subject = %q", e.Subject)
	}
	if !strings.HasPrefix(e.Text, "Hello Kari Nordmann,\n") {
		t.Errorf("greeting: %q", e.Text[:40])
	}
	if sms := messages.CodeSMS("en", "123456", "Acme\nAS", time.Minute); strings.Contains(sms, "\n") {
		t.Errorf("sms has a newline: %q", sms)
	}
}

func TestRussianPlurals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n             int
		minutes, days string
	}{
		{1, "1 минуту", "1 день"},
		{2, "2 минуты", "2 дня"},
		{4, "4 минуты", "4 дня"},
		{5, "5 минут", "5 дней"},
		{7, "7 минут", "7 дней"},
		{11, "11 минут", "11 дней"},
		{12, "12 минут", "12 дней"},
		{14, "14 минут", "14 дней"},
		{21, "21 минуту", "21 день"},
		{22, "22 минуты", "22 дня"},
		{25, "25 минут", "25 дней"},
		{30, "30 минут", "30 дней"},
		{101, "101 минуту", "101 день"},
		{111, "111 минут", "111 дней"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			t.Parallel()
			if tt.n < 60 {
				if got := messages.Duration("ru", time.Duration(tt.n)*time.Minute); got != tt.minutes {
					t.Errorf("%d minutes = %q, want %q", tt.n, got, tt.minutes)
				}
			}
			if got := messages.Duration("ru", time.Duration(tt.n)*24*time.Hour); got != tt.days {
				t.Errorf("%d days = %q, want %q", tt.n, got, tt.days)
			}
		})
	}
	for d, want := range map[time.Duration]string{
		time.Hour: "1 час", 2 * time.Hour: "2 часа", 5 * time.Hour: "5 часов", 21 * time.Hour: "21 час",
		time.Second: "1 секунду", 3 * time.Second: "3 секунды", 45 * time.Second: "45 секунд",
		90 * time.Minute: "90 минут",
	} {
		if got := messages.Duration("ru", d); got != want {
			t.Errorf("Duration(ru, %v) = %q, want %q", d, got, want)
		}
	}
}

func TestDurations(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	tests := []struct {
		d              time.Duration
		en, nb, sv, fr string
	}{
		{time.Minute, "1 minute", "1 minutt", "1 minut", "1 minute"},
		{10 * time.Minute, "10 minutes", "10 minutter", "10 minuter", "10 minutes"},
		{10*time.Minute + 59*time.Second, "10 minutes", "10 minutter", "10 minuter", "10 minutes"},
		{90 * time.Minute, "90 minutes", "90 minutter", "90 minuter", "90 minutes"},
		{time.Hour, "1 hour", "1 time", "1 timme", "1 heure"},
		{36 * time.Hour, "36 hours", "36 timer", "36 timmar", "36 heures"},
		{day, "1 day", "1 dag", "1 dag", "1 jour"},
		{7 * day, "7 days", "7 dager", "7 dagar", "7 jours"},
		{30 * day, "30 days", "30 dager", "30 dagar", "30 jours"},
		{30 * time.Second, "30 seconds", "30 sekunder", "30 sekunder", "30 secondes"},
		{time.Second, "1 second", "1 sekund", "1 sekund", "1 seconde"},
		{time.Millisecond, "1 second", "1 sekund", "1 sekund", "1 seconde"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			t.Parallel()
			for lang, want := range map[string]string{"en": tt.en, "nb": tt.nb, "sv": tt.sv, "fr": tt.fr} {
				if got := messages.Duration(lang, tt.d); got != want {
					t.Errorf("Duration(%s, %v) = %q, want %q", lang, tt.d, got, want)
				}
			}
		})
	}
}

func TestDates(t *testing.T) {
	t.Parallel()
	oslo, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		t.Fatal(err)
	}
	first := time.Date(2026, 12, 1, 8, 5, 0, 0, time.UTC)
	summer := time.Date(2026, 6, 15, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		lang string
		t    time.Time
		loc  *time.Location
		want string
	}{
		{"nb", expires, nil, "30. november 2026 kl. 14:00 UTC"},
		{"sv", expires, nil, "30 november 2026 kl. 14:00 UTC"},
		{"fr", expires, nil, "30 novembre 2026 à 14:00 UTC"},
		{"ru", expires, nil, "30 ноября 2026 г., 14:00 UTC"},
		{"en", expires, nil, "30 November 2026 at 14:00 UTC"},
		{"nb", expires, oslo, "30. november 2026 kl. 15:00 CET"},
		{"sv", summer, oslo, "15 juni 2026 kl. 11:30 CEST"},
		{"fr", first, nil, "1er décembre 2026 à 08:05 UTC"},
		{"ru", first, nil, "1 декабря 2026 г., 08:05 UTC"},
		{"en", first, nil, "1 December 2026 at 08:05 UTC"},
		{"ru", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), nil, "8 марта 2026 г., 00:00 UTC"},
		{"fr", time.Date(2026, 8, 15, 23, 59, 0, 0, time.UTC), nil, "15 août 2026 à 23:59 UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.want, func(t *testing.T) {
			t.Parallel()
			if got := messages.Date(tt.lang, tt.t, tt.loc); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("invitation location", func(t *testing.T) {
		t.Parallel()
		inv := invitation("nb", messages.KindMember, messages.CodeBySMS)
		inv.Location = oslo
		e, err := messages.InvitationEmail(inv)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(e.Text, "gyldig til 30. november 2026 kl. 15:00 CET") {
			t.Errorf("text:\n%s", e.Text)
		}
	})
}

// smsLen counts an SMS as the network does: GSM-7 septets (extension
// characters take two) or UCS-2 units. Kept independent of the package's own
// counter on purpose.
func smsLen(s string) (n int, gsm7 bool) {
	const basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	const ext = "\f^{}\\[~]|€"
	gsm7 = true
	for _, r := range s {
		switch {
		case strings.ContainsRune(basic, r):
			n++
		case strings.ContainsRune(ext, r):
			n += 2
		default:
			gsm7 = false
		}
	}
	if !gsm7 {
		n = 0
		for _, r := range s {
			if r > 0xFFFF {
				n += 2
			} else {
				n++
			}
		}
	}
	return n, gsm7
}

func TestSMSLength(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("Nordlys Regnskap og Revisjon ", 6) + "AS"
	tenants := []struct {
		name, tenant string
		short        bool // short enough for one Russian segment
	}{
		{"short", "Acme", true},
		{"typical", "Nordlys Regnskap AS", false},
		{"long", long, false},
	}
	validities := []time.Duration{30 * time.Second, 10 * time.Minute, 15 * time.Minute, 2 * time.Hour, 7 * 24 * time.Hour, 21 * 24 * time.Hour}
	for _, lang := range messages.Languages() {
		for _, tn := range tenants {
			for _, v := range validities {
				t.Run(fmt.Sprintf("%s/%s/%v", lang, tn.name, v), func(t *testing.T) {
					t.Parallel()
					sms := messages.CodeSMS(lang, "654321", tn.tenant, v)
					n, gsm7 := smsLen(sms)
					if lang == "ru" {
						if gsm7 {
							t.Errorf("Russian SMS is GSM-7? %q", sms)
						}
						if tn.short && n > 70 {
							t.Errorf("%d UCS-2 units > 70: %q", n, sms)
						}
						if n > 134 {
							t.Errorf("%d UCS-2 units > 134 (two segments): %q", n, sms)
						}
					} else {
						if !gsm7 {
							t.Errorf("not GSM-7: %q", sms)
						}
						if n > 160 {
							t.Errorf("%d septets > 160: %q", n, sms)
						}
					}
					if !strings.Contains(sms, "654321") || !strings.Contains(sms, messages.Duration(lang, v)) {
						t.Errorf("sms lacks code or validity: %q", sms)
					}
					if tn.name == "long" && !strings.Contains(sms, "Nordlys Regnskap...") && !strings.Contains(sms, "Nordlys Regnskap og") {
						t.Errorf("long tenant not shortened sensibly: %q", sms)
					}
				})
			}
		}
	}

	t.Run("tenant outside GSM-7 forces UCS-2 and still fits", func(t *testing.T) {
		t.Parallel()
		sms := messages.CodeSMS("nb", "123456", "Kafé Ŝtraße 東京 AS med et langt navn som ikke får plass", 10*time.Minute)
		if n, gsm7 := smsLen(sms); gsm7 || n > 134 {
			t.Errorf("%d units (gsm7=%v): %q", n, gsm7, sms)
		}
	})
}

func TestSMSExact(t *testing.T) {
	t.Parallel()
	tests := []struct{ lang, want string }{
		{"en", "Your one-time code for Acme: 123456. Valid for 10 minutes. Never share it."},
		{"nb", "Din engangskode for Acme: 123456. Gyldig i 10 minutter. Ikke del den med noen."},
		{"sv", "Din engångskod för Acme: 123456. Giltig i 10 minuter. Dela den aldrig med någon."},
		{"fr", "Votre code à usage unique pour Acme : 123456. Valable 10 minutes. Ne le partagez jamais."},
		{"ru", "Код для «Acme»: 123456. Действует 10 минут. Никому не сообщайте."},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			t.Parallel()
			if got := messages.CodeSMS(tt.lang, "123456", "Acme", 10*time.Minute); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestMissingFields(t *testing.T) {
	t.Parallel()
	base := invitation("sv", messages.KindMember, messages.CodeBySMS)
	tests := []struct {
		name  string
		edit  func(*messages.Invitation)
		field string
	}{
		{"no url", func(i *messages.Invitation) { i.AcceptURL = "" }, "AcceptURL"},
		{"relative url", func(i *messages.Invitation) { i.AcceptURL = "/invite?token=secret" }, "AcceptURL"},
		{"no host", func(i *messages.Invitation) { i.AcceptURL = "https:///invite?token=secret" }, "AcceptURL"},
		{"ftp url", func(i *messages.Invitation) { i.AcceptURL = "ftp://files.example/token=secret" }, "AcceptURL"},
		{"javascript url", func(i *messages.Invitation) { i.AcceptURL = "javascript:alert('secret')" }, "AcceptURL"},
		{"opaque url", func(i *messages.Invitation) { i.AcceptURL = "https:secret" }, "AcceptURL"},
		{"url with newline", func(i *messages.Invitation) { i.AcceptURL = "https://x.example/\nsecret" }, "AcceptURL"},
		{"no tenant", func(i *messages.Invitation) { i.TenantName = "" }, "TenantName"},
		{"blank tenant", func(i *messages.Invitation) { i.TenantName = " \r\n\t" }, "TenantName"},
		{"no expiry", func(i *messages.Invitation) { i.ExpiresAt = time.Time{} }, "ExpiresAt"},
		{"bad kind", func(i *messages.Invitation) { i.Kind = 7 }, "Kind"},
		{"bad delivery", func(i *messages.Invitation) { i.CodeDelivery = -1 }, "CodeDelivery"},
		{"bad inviter email", func(i *messages.Invitation) { i.InviterEmail = "Ola <ola@x.example>" }, "InviterEmail"},
		{"code to inviter without inviter", func(i *messages.Invitation) {
			i.CodeDelivery = messages.CodeToInviter
			i.InviterName = ""
		}, "InviterName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inv := base
			tt.edit(&inv)
			_, err := messages.InvitationEmail(inv)
			checkFieldErr(t, err, tt.field)
		})
	}

	t.Run("optional fields", func(t *testing.T) {
		t.Parallel()
		inv := base
		inv.InviteeName, inv.InviterName, inv.InviterEmail = "", "", ""
		inv.Kind = messages.KindIntegrator
		e, err := messages.InvitationEmail(inv)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(e.Text, "Hej,\n") || !strings.Contains(e.Text, "Du har bjudits in till") {
			t.Errorf("anonymous integrator invitation:\n%s", e.Text)
		}
		inv.Kind = messages.KindMember
		inv.AcceptURL = "http://localhost:8080/invite?token=t"
		if _, err := messages.InvitationEmail(inv); err != nil {
			t.Errorf("http URL refused: %v", err)
		}
	})

	codeTests := []struct {
		name     string
		edit     func(*messages.Invitation)
		code     string
		validFor time.Duration
		field    string
	}{
		{"no inviter", func(i *messages.Invitation) { i.InviterName = "" }, "123456", time.Minute, "InviterName"},
		{"no invitee", func(i *messages.Invitation) { i.InviteeName = "" }, "123456", time.Minute, "InviteeName"},
		{"no tenant", func(i *messages.Invitation) { i.TenantName = "" }, "123456", time.Minute, "TenantName"},
		{"short code", func(*messages.Invitation) {}, "12345", time.Minute, "code"},
		{"long code", func(*messages.Invitation) {}, "1234567", time.Minute, "code"},
		{"letters", func(*messages.Invitation) {}, "12a456", time.Minute, "code"},
		{"fullwidth digits", func(*messages.Invitation) {}, "１２３４５６", time.Minute, "code"},
		{"empty code", func(*messages.Invitation) {}, "", time.Minute, "code"},
		{"no validity", func(*messages.Invitation) {}, "123456", 0, "validFor"},
		{"negative validity", func(*messages.Invitation) {}, "123456", -time.Minute, "validFor"},
	}
	for _, tt := range codeTests {
		t.Run("code to inviter/"+tt.name, func(t *testing.T) {
			t.Parallel()
			inv := base
			tt.edit(&inv)
			_, err := messages.CodeToInviterEmail("sv", inv, tt.code, tt.validFor)
			checkFieldErr(t, err, tt.field)
		})
	}

	t.Run("code to inviter ignores the link", func(t *testing.T) {
		t.Parallel()
		inv := base
		inv.AcceptURL, inv.ExpiresAt = "", time.Time{}
		if _, err := messages.CodeToInviterEmail("sv", inv, "000000", time.Minute); err != nil {
			t.Error(err)
		}
	})

	smsTests := []struct {
		name, code, tenant string
		validFor           time.Duration
		field              string
	}{
		{"short code", "12345", "Acme", time.Minute, "code"},
		{"letters", "abcdef", "Acme", time.Minute, "code"},
		{"no tenant", "123456", "", time.Minute, "tenantName"},
		{"no validity", "123456", "Acme", 0, "validFor"},
	}
	for _, tt := range smsTests {
		t.Run("sms/"+tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := messages.CheckedCodeSMS("en", tt.code, tt.tenant, tt.validFor)
			checkFieldErr(t, err, tt.field)
			defer func() {
				if recover() == nil {
					t.Error("CodeSMS did not panic")
				}
			}()
			messages.CodeSMS("en", tt.code, tt.tenant, tt.validFor)
		})
	}
}

func checkFieldErr(t *testing.T, err error, field string) {
	t.Helper()
	var fe *messages.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a *FieldError for %s", err, field)
	}
	if fe.Field != field {
		t.Errorf("field = %q, want %q (%v)", fe.Field, field, err)
	}
	if !errors.Is(err, messages.ErrInvalid) {
		t.Error("error does not wrap ErrInvalid")
	}
	if !strings.Contains(err.Error(), field) {
		t.Errorf("error %q does not name %s", err, field)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error leaks the value: %q", err)
	}
}

// TestSeedVocabulary pins the words of the help pages the texts are based on.
func TestSeedVocabulary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang string
		kind messages.Kind
		want []string
	}{
		{"nb", messages.KindMember, []string{"invitert deg", "Invitasjonen", "engangskoden", "SMS", "Til invitasjonen", "BankID"}},
		{"nb", messages.KindIntegration, []string{"integrasjonsbruker", "nøytral bruker", "reell person", "passord", "tredjepartssystem"}},
		{"nb", messages.KindIntegrator, []string{"integrator", "administratorrettigheter"}},
		{"sv", messages.KindMember, []string{"bjudit in dig", "Inbjudan", "engångskoden", "Till inbjudan", "inloggningsmetod", "BankID"}},
		{"sv", messages.KindIntegration, []string{"integrationsanvändare", "neutral användare", "lösenord"}},
		{"fr", messages.KindMember, []string{"invitation", "code à usage unique", "BankID"}},
		{"ru", messages.KindIntegrator, []string{"интегратора", "Приглашение", "права администратора", "не можете создавать других администраторов", "увольнять сотрудников", "«Интегратор»"}},
		{"ru", messages.KindMember, []string{"приглашает вас", "одноразовый код", "SMS"}},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.kind.String(), func(t *testing.T) {
			t.Parallel()
			e, err := messages.InvitationEmail(invitation(tt.lang, tt.kind, messages.CodeBySMS))
			if err != nil {
				t.Fatal(err)
			}
			all := e.Subject + "\n" + e.Text
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("lacks %q:\n%s", w, all)
				}
			}
		})
	}
	for lang, want := range map[string]string{"nb": "Engangskode", "sv": "Engångskod", "fr": "Code à usage unique", "ru": "Одноразовый код"} {
		c, err := messages.CodeToInviterEmail(lang, invitation(lang, messages.KindMember, messages.CodeToInviter), "123456", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c.Subject, want) {
			t.Errorf("%s subject = %q, want prefix %q", lang, c.Subject, want)
		}
	}
}
