package messages

import (
	"strings"
	"time"
	"unicode/utf16"
)

// The GSM 03.38 default alphabet (one septet each) and its extension table
// (two septets each: escape + character).
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[~]|€"

	// A tenant name is never shortened below this many characters.
	minTenantRunes = 12
	ellipsis       = "..." // "…" is not GSM-7
)

// smsSize reports how an SMS text is encoded and how long it is: septets
// for GSM-7, UTF-16 code units for UCS-2.
func smsSize(s string) (units int, gsm7 bool) {
	septets := 0
	for _, r := range s {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			septets++
		case strings.ContainsRune(gsmExtension, r):
			septets += 2
		default:
			n := 0
			for _, r := range s {
				n += utf16.RuneLen(r)
			}
			return n, false
		}
	}
	return septets, true
}

// smsFits reports whether s fits in the given number of SMS segments. A
// single segment holds 160 GSM-7 septets or 70 UCS-2 units; concatenated
// segments lose room to their header (153 and 67 each).
func smsFits(s string, segments int) bool {
	n, gsm7 := smsSize(s)
	switch {
	case gsm7 && segments == 1:
		return n <= 160
	case gsm7:
		return n <= 153*segments
	case segments == 1:
		return n <= 70
	default:
		return n <= 67*segments
	}
}

// codeSMS renders the SMS and makes it fit one segment, shortening a long
// tenant name to no fewer than minTenantRunes characters. When that is not
// enough (a Russian text with a long tenant name) it settles for two
// segments, shortening the name only if even two would not do.
func codeSMS(l *language, code, tenant string, validFor time.Duration) string {
	render := func(tenant string) string {
		s, err := expand(l.t.SMS, map[string]string{
			"tenant":   tenant,
			"code":     code,
			"duration": l.duration(validFor),
		})
		if err != nil {
			panic(err) // the tables are checked by the tests
		}
		return s
	}
	shorten := func(segments int) (string, bool) {
		runes := []rune(tenant)
		var s string
		for n := len(runes) - len(ellipsis) - 1; n >= minTenantRunes; n-- {
			s = render(strings.TrimSpace(string(runes[:n])) + ellipsis)
			if smsFits(s, segments) {
				return s, true
			}
		}
		return s, false
	}
	full := render(tenant)
	if smsFits(full, 1) {
		return full
	}
	if s, ok := shorten(1); ok {
		return s
	}
	if smsFits(full, 2) {
		return full
	}
	if s, ok := shorten(2); ok || s != "" {
		return s
	}
	return full
}
