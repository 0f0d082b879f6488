package letter_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"rollcall.dev/services/identity/adapters/letter"
	"rollcall.dev/services/identity/app"
)

func TestLetter(t *testing.T) {
	t.Parallel()
	for lang, phrase := range map[string]string{"fr-CA": "Code d'entreprise", "nb": "Brukerkode", "sv-SE": "Lösenord", "en": "User code", "ru": "User code"} {
		l, err := letter.Writer{}.Write(app.LetterInput{TenantName: "Fjord AS", CompanyCode: "FJORD", UserCode: "PAIE2026",
			Password: "s3cretPassw0rd", Application: "Lønn", Language: lang})
		require.NoError(t, err)
		for _, want := range []string{"Fjord AS", "FJORD", "PAIE2026", "s3cretPassw0rd", phrase, "Lønn"} {
			require.Contains(t, l.Text, want, lang)
		}
		require.True(t, bytes.HasPrefix(l.PDF, []byte("%PDF-")), lang)
		require.Greater(t, len(l.PDF), 500)
	}
}
