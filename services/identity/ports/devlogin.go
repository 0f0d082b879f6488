package ports

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"rollcall.dev/services/identity/adapters/login"
)

// DevLoginPath is where `rollcall dev` mounts the login stand-ins' minting
// endpoint. It is a DEVELOPMENT TOOL: it signs whatever it is asked to, so
// a production deployment never mounts it (only DevConfig turns it on).
const DevLoginPath = "/dev/login/"

// DevLogin mints stand-in login assertions:
//
//	POST /dev/login/bankid {"country":"no","national_id":"...","audience":"<invitation id>"}
//	POST /dev/login/telia  {"user_id":"kari@telia.example","audience":"<invitation id>"}
//
// answers {"assertion":"devlogin1....","expires_at":"..."}.
type DevLogin struct {
	Sim *login.Sim
	// Profiles are the provider-profile providers served besides "bankid".
	Profiles []string
}

type devLoginRequest struct {
	Country    string `json:"country"`
	NationalID string `json:"national_id"`
	UserID     string `json:"user_id"`
	Email      string `json:"email"`
	Audience   string `json:"audience"`
}

func (d DevLogin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	provider := strings.Trim(strings.TrimPrefix(r.URL.Path, DevLoginPath), "/")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a JSON body", http.StatusMethodNotAllowed)
		return
	}
	if provider != "bankid" && !slices.Contains(d.Profiles, provider) {
		http.Error(w, "unknown provider "+provider+"; try bankid or "+strings.Join(d.Profiles, ", "), http.StatusNotFound)
		return
	}
	var req devLoginRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	exp := time.Now().Add(login.MaxAge)
	a, err := d.Sim.Mint(login.Claims{
		Provider: provider, Country: req.Country, NationalID: req.NationalID, UserID: req.UserID, Email: req.Email,
		Audience: req.Audience, Expires: exp.Unix(),
	})
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]string{"assertion": a, "expires_at": exp.UTC().Format(time.RFC3339), "note": "development stand-in, not a real " + provider + " login"})
}
