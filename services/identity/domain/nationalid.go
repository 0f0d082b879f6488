package domain

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNationalID is a national identity number that is not well formed, whose
// check digits do not match, or whose date of birth does not exist. The
// wrapped reasons never repeat the number.
var ErrNationalID = errors.New("not a valid national identity number")

func badID(reason string) error { return fmt.Errorf("%w: %s", ErrNationalID, reason) }

// NorwegianID checks a Norwegian fødselsnummer and returns its canonical
// form, the 11 digits DDMMYYIIIKK (spaces are dropped). The number already
// says its century (the individual number IIII decides it, see
// norwegianCentury), so the 11 digits name one person and need no
// rewriting; what is checked is that they could have been issued:
//
//   - both mod-11 check digits K1 and K2;
//   - a D-number (day + 40) or H-number (month + 40) is read back to the
//     date it stands for;
//   - the individual number belongs to a series in use for that year;
//   - the date exists in that century (29 February only in leap years) and
//     is not after today.
//
// today is the caller's calendar date (its own location).
func NorwegianID(s string, today time.Time) (string, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	if len(s) != 11 || !allDigits(s) {
		return "", badID("a Norwegian number has 11 digits")
	}
	d := digits(s)
	k1 := mod11(d[:9], []int{3, 7, 6, 1, 8, 9, 4, 5, 2})
	k2 := mod11(d[:10], []int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2})
	if k1 < 0 || k1 != d[9] || k2 < 0 || k2 != d[10] {
		return "", badID("the check digits do not match")
	}
	day, month, yy := d[0]*10+d[1], d[2]*10+d[3], d[4]*10+d[5]
	if day > 40 {
		day -= 40 // D-number
	}
	if month > 40 {
		month -= 40 // H-number (assigned by health services)
	}
	year, ok := norwegianCentury(yy, d[6]*100+d[7]*10+d[8])
	if !ok {
		return "", badID("the individual number does not belong to the year of birth")
	}
	if err := checkBirthDate(year, month, day, today); err != nil {
		return "", err
	}
	return s, nil
}

// norwegianCentury is the year of birth from the two-digit year and the
// individual number, by the series Skatteetaten allots: 000-499 1900-1999;
// 500-749 1854-1899; 500-999 2000-2039; 900-999 1940-1999. Other
// combinations are never issued.
func norwegianCentury(yy, individual int) (int, bool) {
	switch {
	case individual <= 499:
		return 1900 + yy, true
	case individual <= 749 && yy >= 54:
		return 1800 + yy, true
	case yy <= 39: // 500-999
		return 2000 + yy, true
	case individual >= 900: // and yy >= 40
		return 1900 + yy, true
	}
	return 0, false
}

// mod11 is 11 - (weighted sum mod 11), 0 for 11, and -1 for 10 (no valid
// check digit exists, so the number is invalid).
func mod11(d, w []int) int {
	sum := 0
	for i := range w {
		sum += d[i] * w[i]
	}
	k := 11 - sum%11
	switch k {
	case 11:
		return 0
	case 10:
		return -1
	}
	return k
}

// SwedishID checks a Swedish personnummer or samordningsnummer (day + 60)
// and returns its canonical 12-digit form YYYYMMDDNNNC, so that one person
// has one form whatever was typed and two people born a hundred years apart
// on the same day never share one. Accepted forms:
//
//   - YYYYMMDDNNNC or YYYYMMDD-NNNC: the century is given;
//   - YYMMDD-NNNC, or YYMMDDNNNC (taken as '-'): the person is under 100
//     today, so the year is the latest one ending in YY whose date is not
//     after today;
//   - YYMMDD+NNNC: the person is 100 or older, a century before that.
//
// C is the Luhn check digit of the ten digits YYMMDDNNN. The date must
// exist in the century found (29 February only in leap years, day - 60 for
// a samordningsnummer) and not be after today. The canonical form keeps the
// number's own digits (a samordningsnummer stays one), so it is its own
// canonical form. today is the caller's calendar date (its own location).
func SwedishID(s string, today time.Time) (string, error) {
	s = strings.TrimSpace(s)
	sep := byte(0)
	switch {
	case len(s) == 11 && (s[6] == '-' || s[6] == '+'):
		sep, s = s[6], s[:6]+s[7:]
	case len(s) == 13 && s[8] == '-':
		// '+' has no meaning in the long form: the century is written out.
		sep, s = s[8], s[:8]+s[9:]
	}
	if !allDigits(s) || (len(s) != 10 && len(s) != 12) || (len(s) == 12 && sep == '+') {
		return "", badID("a Swedish number is YYMMDD-NNNN, YYMMDD+NNNN, YYMMDDNNNN or YYYYMMDDNNNN")
	}
	short := s
	if len(s) == 12 {
		short = s[2:]
	}
	d := digits(short)
	if luhn(d[:9]) != d[9] {
		return "", badID("the check digit does not match")
	}
	month, day := d[2]*10+d[3], d[4]*10+d[5]
	if day > 60 {
		day -= 60 // samordningsnummer
	}
	var year int
	if len(s) == 12 {
		year = int(s[0]-'0')*1000 + int(s[1]-'0')*100 + d[0]*10 + d[1]
	} else {
		// The latest year ending in YY whose birthday this year has come.
		ty, tm, td := today.Date()
		year = ty - ty%100 + d[0]*10 + d[1]
		if year > ty || (year == ty && (month > int(tm) || (month == int(tm) && day > td))) {
			year -= 100
		}
		if sep == '+' {
			year -= 100
		}
	}
	if err := checkBirthDate(year, month, day, today); err != nil {
		return "", err
	}
	return fmt.Sprintf("%04d", year) + short[2:], nil
}

// checkBirthDate refuses a date that does not exist or is after today.
func checkBirthDate(year, month, day int, today time.Time) error {
	if month < 1 || month > 12 || day < 1 || day > 31 || year < 1 {
		return badID("the date of birth does not exist")
	}
	born := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if born.Day() != day { // 31 April, 29 February in a common year, ...
		return badID("the date of birth does not exist")
	}
	ty, tm, td := today.Date()
	if born.After(time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)) {
		return badID("the date of birth is in the future")
	}
	return nil
}

// luhn returns the Luhn check digit of d (weights 2,1,2,1,... from the left
// for the nine digits of a personnummer).
func luhn(d []int) int {
	sum := 0
	for i, v := range d {
		if i%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return (10 - sum%10) % 10
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func digits(s string) []int {
	d := make([]int, len(s))
	for i := range len(s) {
		d[i] = int(s[i] - '0')
	}
	return d
}
