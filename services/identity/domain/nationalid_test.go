package domain_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/identity/domain"
)

// today is the fixed date the tables are read against.
var today = time.Date(2026, time.May, 10, 15, 4, 5, 0, time.UTC)

// se completes nine digits YYMMDDNNN with their Luhn digit, written here
// again (not domain's) so that the tables check the rule, not the code
// against itself.
func se(nine string) string {
	sum := 0
	for i := range 9 {
		v := int(nine[i] - '0')
		if i%2 == 0 {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return nine + fmt.Sprint((10-sum%10)%10)
}

// no completes DDMMYY and a three-digit individual number with both mod-11
// check digits, stepping the individual number up (within its series)
// until neither check digit would be 10.
func no(t *testing.T, ddmmyy string, individual int) string {
	t.Helper()
	check := func(s string, w []int) int {
		sum := 0
		for i := range w {
			sum += int(s[i]-'0') * w[i]
		}
		return (11 - sum%11) % 11
	}
	for i := individual; i < individual+20; i++ {
		base := fmt.Sprintf("%s%03d", ddmmyy, i)
		k1 := check(base, []int{3, 7, 6, 1, 8, 9, 4, 5, 2})
		if k1 == 10 {
			continue
		}
		k2 := check(base+fmt.Sprint(k1), []int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2})
		if k2 == 10 {
			continue
		}
		return base + fmt.Sprint(k1) + fmt.Sprint(k2)
	}
	t.Fatalf("no valid number near %s%03d", ddmmyy, individual)
	return ""
}

func TestSwedishID(t *testing.T) {
	t.Parallel()
	// Born on today's date (10 May) and on tomorrow's (11 May), in several
	// centuries: what a '-' or '+' says is relative to today.
	bornToday, bornTomorrow := se("260510123"), se("260511123")
	leap := se("000229123")
	for _, c := range []struct{ name, in, want string }{
		{"Dash", "811218-9876", "198112189876"},
		{"NoSeparatorIsDash", "8112189876", "198112189876"},
		{"Plus", "811218+9876", "188112189876"},
		{"Twelve", "198112189876", "198112189876"},
		{"TwelveWithDash", "19811218-9876", "198112189876"},
		{"TwelveOtherCentury", "188112189876", "188112189876"},
		{"Spaces", "  811218-9876\t", "198112189876"},
		{"Samordningsnummer", "811278-9873", "198112789873"},
		{"SamordningsnummerTwelve", "198112789873", "198112789873"},
		{"BornToday", bornToday[:6] + "-" + bornToday[6:], "20" + bornToday},
		{"HundredToday", bornToday[:6] + "+" + bornToday[6:], "19" + bornToday},
		{"BirthdayTomorrowIs99", bornTomorrow[:6] + "-" + bornTomorrow[6:], "19" + bornTomorrow},
		{"BirthdayTomorrowPlus", bornTomorrow[:6] + "+" + bornTomorrow[6:], "18" + bornTomorrow},
		{"LeapDay2000", leap[:6] + "-" + leap[6:], "20" + leap},
		{"LeapDay1904", se("040229123")[:6] + "+" + se("040229123")[6:], "19" + se("040229123")},
		{"NewYearsEveLastCentury", se("991231123"), "19" + se("991231123")},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.SwedishID(c.in, today)
			require.NoError(t, err, c.in)
			require.Equal(t, c.want, got)
			again, err := domain.SwedishID(got, today)
			require.NoError(t, err)
			require.Equal(t, got, again, "the canonical form is its own")
		})
	}
	for _, c := range []struct{ name, in, why string }{
		{"CheckDigit", "811218-9875", "check digit"},
		{"CheckDigitTwelve", "198112189875", "check digit"},
		{"Month13", se("811318987"), "does not exist"},
		{"Month0", se("810018987"), "does not exist"},
		{"Day0", se("811200987"), "does not exist"},
		{"Day32", se("811232987"), "does not exist"},
		{"Day60IsSamordningDay0", se("811260987"), "does not exist"},
		{"SamordningDay92", se("811292987"), "does not exist"},
		{"April31", se("810431987"), "does not exist"},
		{"SamordningApril31", se("810491987"), "does not exist"},
		{"LeapDay1900", leap[:6] + "+" + leap[6:], "does not exist"},
		{"LeapDayInCommonYear", "19" + se("010229123"), "does not exist"},
		{"LeapDay2025", se("250229123"), "does not exist"}, // under 100: 2025, no 29 February
		{"TwelveInFuture", "20" + bornTomorrow, "future"},
		{"TwelveWithPlus", "1981" + "1218+9876", "YYMMDD"},
		{"SeparatorMisplaced", "8112-189876", "YYMMDD"},
		{"OtherSeparator", "811218/9876", "YYMMDD"},
		{"Eleven", "81121898760", "YYMMDD"},
		{"Nine", "811218987", "YYMMDD"},
		{"Letters", "abcdefghij", "YYMMDD"},
		{"InnerSpace", "811218 9876", "YYMMDD"},
		{"Unicode", "８１１２１８９８７６", "YYMMDD"},
		{"Empty", "", "YYMMDD"},
	} {
		t.Run("Refused"+c.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.SwedishID(c.in, today)
			require.ErrorIs(t, err, domain.ErrNationalID, "%q gave %q", c.in, got)
			require.Contains(t, err.Error(), c.why)
			require.Empty(t, got)
			if len(c.in) >= 10 {
				require.NotContains(t, err.Error(), c.in[len(c.in)-4:], "the reason never repeats the number")
			}
		})
	}
	t.Run("CenturiesApartNeverCollide", func(t *testing.T) {
		t.Parallel()
		young, err := domain.SwedishID("811218-9876", today)
		require.NoError(t, err)
		old, err := domain.SwedishID("811218+9876", today)
		require.NoError(t, err)
		require.NotEqual(t, young, old)
	})
	t.Run("CenturyFollowsToday", func(t *testing.T) {
		t.Parallel()
		// The same '-' number read on the day before and on the birthday.
		in := bornToday[:6] + "-" + bornToday[6:]
		got, err := domain.SwedishID(in, today.AddDate(0, 0, -1))
		require.NoError(t, err)
		require.Equal(t, "19"+bornToday, got, "not born yet in 2026: 1926")
		got, err = domain.SwedishID(in, time.Date(2026, time.May, 10, 0, 0, 0, 0, time.FixedZone("CEST", 2*3600)))
		require.NoError(t, err)
		require.Equal(t, "20"+bornToday, got, "today is the caller's calendar date")
	})
}

func TestNorwegianID(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in string
		want     string // "" means the input itself
	}{
		{"Fodselsnummer", "01019010046", ""},
		{"DNumber", "41019010110", ""},
		{"Spaces", " 010190 10046 ", "01019010046"},
		{"HNumber", no(t, "014190", 100), ""},
		{"Series1800s", no(t, "010160", 500), ""},
		{"Series1900sHigh", no(t, "010160", 900), ""},
		{"Series2000s", no(t, "010120", 500), ""},
		{"Series2000sHigh", no(t, "010120", 950), ""},
		{"LeapDay2000", no(t, "290200", 500), ""},
		{"LeapDay1904", no(t, "290204", 100), ""},
		{"DNumberLeapDay", no(t, "690200", 500), ""},
		{"BornToday", no(t, "100526", 500), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.NorwegianID(c.in, today)
			require.NoError(t, err, c.in)
			want := c.want
			if want == "" {
				want = c.in
			}
			require.Equal(t, want, got)
			again, err := domain.NorwegianID(got, today)
			require.NoError(t, err)
			require.Equal(t, got, again, "the canonical form is its own")
		})
	}
	for _, c := range []struct{ name, in, why string }{
		{"K1", "01019010056", "check digits"},
		{"K2", "01019010047", "check digits"},
		{"Short", "0101901004", "11 digits"},
		{"Long", "010190100466", "11 digits"},
		{"Letter", "0101901004x", "11 digits"},
		{"Dashed", "010190-10046", "11 digits"},
		{"Empty", "", "11 digits"},
		{"Day0", no(t, "000190", 100), "does not exist"},
		{"Day32", no(t, "320190", 100), "does not exist"},
		{"DNumberDay72", no(t, "720190", 100), "does not exist"},
		{"Month13", no(t, "011390", 100), "does not exist"},
		{"HMonth53", no(t, "015390", 100), "does not exist"},
		{"April31", no(t, "310490", 100), "does not exist"},
		{"LeapDay1900", no(t, "290200", 100), "does not exist"},
		{"LeapDay2001", no(t, "290201", 500), "does not exist"},
		{"Series500For1945", no(t, "010145", 500), "individual number"},
		{"Series750For1960", no(t, "010160", 750), "individual number"},
		{"Series800For1899", no(t, "010199", 800), "individual number"},
		{"Future", no(t, "010135", 500), "future"},
		{"Tomorrow", no(t, "110526", 500), "future"},
	} {
		t.Run("Refused"+c.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.NorwegianID(c.in, today)
			require.ErrorIs(t, err, domain.ErrNationalID, "%q gave %q", c.in, got)
			require.Contains(t, err.Error(), c.why)
			require.Empty(t, got)
		})
	}
}

// fuzzToday spreads the fuzzer's two numbers over the years 1900-2199.
func fuzzToday(year, day uint16) time.Time {
	return time.Date(1900+int(year%300), time.January, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, int(day%366))
}

// FuzzSwedishID: whatever comes in, SwedishID never panics; a refusal is
// ErrNationalID; an accepted number's canonical form is 12 digits, is its
// own canonical form (idempotent), and is what its short form with the
// separator its age calls for (under 100 '-', under 200 '+') gives back.
func FuzzSwedishID(f *testing.F) {
	f.Add("811218-9876", uint16(126), uint16(129))
	f.Add("811218+9876", uint16(126), uint16(129))
	f.Add("198112789873", uint16(126), uint16(129))
	f.Add("000229-1230", uint16(100), uint16(59))
	f.Fuzz(func(t *testing.T, in string, year, day uint16) {
		now := fuzzToday(year, day)
		got, err := domain.SwedishID(in, now)
		if err != nil {
			if !errors.Is(err, domain.ErrNationalID) || got != "" {
				t.Fatalf("SwedishID(%q) = %q, %v", in, got, err)
			}
			return
		}
		if len(got) != 12 || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("SwedishID(%q) = %q: not 12 digits", in, got)
		}
		again, err := domain.SwedishID(got, now)
		if err != nil || again != got {
			t.Fatalf("SwedishID(%q) = %q, but SwedishID(%q) = %q, %v", in, got, got, again, err)
		}
		again, err = domain.SwedishID(got[:8]+"-"+got[8:], now)
		if err != nil || again != got {
			t.Fatalf("the dashed long form of %q gives %q, %v", got, again, err)
		}
		sep := "-"
		switch age := yearsOld(got, now); {
		case age >= 200:
			return // no short form can say it
		case age >= 100:
			sep = "+"
		}
		short := got[2:8] + sep + got[8:]
		again, err = domain.SwedishID(short, now)
		if err != nil || again != got {
			t.Fatalf("SwedishID(%q) = %q, but its short form %q gives %q, %v", in, got, short, again, err)
		}
	})
}

// yearsOld is the age on now of the holder of a canonical Swedish number
// (a samordningsnummer's day less 60).
func yearsOld(canonical string, now time.Time) int {
	var y, m, d int
	_, _ = fmt.Sscanf(canonical[:8], "%4d%2d%2d", &y, &m, &d)
	if d > 60 {
		d -= 60
	}
	ty, tm, td := now.Date()
	age := ty - y
	if int(tm) < m || (int(tm) == m && td < d) {
		age--
	}
	return age
}

// FuzzNorwegianID: NorwegianID never panics; a refusal is ErrNationalID; an
// accepted number is 11 digits and its own canonical form.
func FuzzNorwegianID(f *testing.F) {
	f.Add("01019010046", uint16(126), uint16(129))
	f.Add("41019010110", uint16(126), uint16(129))
	f.Add("010190 10046", uint16(126), uint16(129))
	f.Fuzz(func(t *testing.T, in string, year, day uint16) {
		now := fuzzToday(year, day)
		got, err := domain.NorwegianID(in, now)
		if err != nil {
			if !errors.Is(err, domain.ErrNationalID) || got != "" {
				t.Fatalf("NorwegianID(%q) = %q, %v", in, got, err)
			}
			return
		}
		if len(got) != 11 || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("NorwegianID(%q) = %q: not 11 digits", in, got)
		}
		again, err := domain.NorwegianID(got, now)
		if err != nil || again != got {
			t.Fatalf("NorwegianID(%q) = %q, but NorwegianID(%q) = %q, %v", in, got, got, again, err)
		}
	})
}
