package domain

import (
	"errors"
	"strings"
)

// ErrNationalID is a national identity number that is not well formed or
// whose check digits do not match.
var ErrNationalID = errors.New("not a valid national identity number")

// NorwegianID checks a Norwegian fødselsnummer (or D-number, day + 40):
// 11 digits DDMMYYIIIKK whose two check digits K1 and K2 are mod-11
// weighted sums. It returns the 11 digits.
func NorwegianID(s string) (string, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	if len(s) != 11 || !allDigits(s) {
		return "", ErrNationalID
	}
	d := digits(s)
	day, month := d[0]*10+d[1], d[2]*10+d[3]
	if day > 40 {
		day -= 40 // D-number
	}
	if month > 40 {
		month -= 40 // H-number (assigned by health services)
	}
	if day < 1 || day > 31 || month < 1 || month > 12 {
		return "", ErrNationalID
	}
	k1 := mod11(d[:9], []int{3, 7, 6, 1, 8, 9, 4, 5, 2})
	if k1 < 0 || k1 != d[9] {
		return "", ErrNationalID
	}
	k2 := mod11(d[:10], []int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2})
	if k2 < 0 || k2 != d[10] {
		return "", ErrNationalID
	}
	return s, nil
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

// SwedishID checks a Swedish personnummer (or samordningsnummer, day + 60):
// YYMMDD-NNNC, YYMMDD+NNNC (over 100 years old), YYMMDDNNNC or
// YYYYMMDDNNNC, where C is the Luhn check digit of the ten-digit form. It
// returns the ten digits.
func SwedishID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 11 && (s[6] == '-' || s[6] == '+') {
		s = s[:6] + s[7:]
	} else if len(s) == 13 && (s[8] == '-' || s[8] == '+') {
		s = s[:8] + s[9:]
	}
	if len(s) == 12 {
		s = s[2:]
	}
	if len(s) != 10 || !allDigits(s) {
		return "", ErrNationalID
	}
	d := digits(s)
	month, day := d[2]*10+d[3], d[4]*10+d[5]
	if day > 60 {
		day -= 60 // samordningsnummer
	}
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return "", ErrNationalID
	}
	if luhn(d[:9]) != d[9] {
		return "", ErrNationalID
	}
	return s, nil
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
