// Package hrsim is a stand-in HR system for development, tests and
// benchmarks. It is a development tool, not an HR system: it keeps each
// tenant's employees ("users") in memory and speaks the Huma-style HR API
// the sync service's HR connector (hr/hrapi) uses — users under
// /tenants/{tenant}/users, read in pages with a cursor, created with an
// Idempotency-Key, updated with PATCH — with HR's rules: email required and
// unique, phone unique (seed 004: "Huma requires this field's value to be
// unique"), given and family name required, formats checked.
//
// Seeding over /_admin/ stores users as they are, uniqueness aside, so
// the data an HR system accumulated before its rules (two users with one
// phone, emails differing only in case) can be recreated: the first
// synchronisation's preview reports them as rule violations.
package hrsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"rollcall.dev/services/sync/hr"
	"rollcall.dev/services/sync/internal/httpx"
)

// Options configure a Server.
type Options struct {
	// Tokens are the bearer tokens the API accepts (at least one).
	Tokens []string
	// OnWrite, when set, is called after every API write with the tenant
	// and the user as stored (a real HR system would publish a change).
	OnWrite func(tenantID string, u hr.User)
}

// Faults are the simulator's switches for the API (never /_admin).
type Faults struct {
	// Latency is added to every API request.
	Latency time.Duration `json:"latency"`
	// Unavailable: the next N requests answer 503 (-1: until switched off).
	Unavailable int `json:"unavailable"`
}

// Stats count what the simulator was asked to do.
type Stats struct {
	Reads    int `json:"reads"`
	Creates  int `json:"creates"`
	Updates  int `json:"updates"`
	Rejected int `json:"rejected"`
	Faulted  int `json:"faulted"`
}

// Server is the stand-in HR system. It is an http.Handler.
type Server struct {
	mux     *http.ServeMux
	onWrite func(string, hr.User)
	tokens  map[string]bool

	mu      sync.Mutex
	tenants map[string]*tenant
	faults  Faults
	stats   Stats
}

type tenant struct {
	users   map[string]*hr.User
	order   []string
	byEmail map[string][]string // lowercased email -> ids
	byPhone map[string][]string
	idem    map[string]string // Idempotency-Key -> id
	nextID  int
}

// New returns a Server.
func New(o Options) *Server {
	s := &Server{mux: http.NewServeMux(), onWrite: o.OnWrite, tokens: map[string]bool{}, tenants: map[string]*tenant{}}
	for _, t := range o.Tokens {
		s.tokens[t] = true
	}
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.HandleFunc("GET /tenants/{tenant}/users", s.api(s.list))
	s.mux.HandleFunc("POST /tenants/{tenant}/users", s.api(s.create))
	s.mux.HandleFunc("GET /tenants/{tenant}/users/{id}", s.api(s.get))
	s.mux.HandleFunc("PATCH /tenants/{tenant}/users/{id}", s.api(s.update))
	s.mux.HandleFunc("GET /_admin/tenants/{tenant}/users", s.adminUsers)
	s.mux.HandleFunc("POST /_admin/tenants/{tenant}/users", s.adminSeed)
	s.mux.HandleFunc("GET /_admin/faults", s.adminGetFaults)
	s.mux.HandleFunc("PUT /_admin/faults", s.adminPutFaults)
	s.mux.HandleFunc("GET /_admin/stats", s.adminStats)
	s.mux.HandleFunc("POST /_admin/reset", s.adminReset)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Development-Tool", "rollcall hrsim: a stand-in HR system, not a real one")
	s.mux.ServeHTTP(w, r)
}

// tn returns the tenant's store, creating it; s.mu is held.
func (s *Server) tn(id string) *tenant {
	t := s.tenants[id]
	if t == nil {
		t = &tenant{users: map[string]*hr.User{}, byEmail: map[string][]string{}, byPhone: map[string][]string{}, idem: map[string]string{}}
		s.tenants[id] = t
	}
	return t
}

// SetFaults replaces the switches.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Users returns a copy of the tenant's users in creation order.
func (s *Server) Users(tenantID string) []hr.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tn(tenantID)
	out := make([]hr.User, 0, len(t.order))
	for _, id := range t.order {
		out = append(out, clone(t.users[id]))
	}
	return out
}

// User returns one user.
func (s *Server) User(tenantID, id string) (hr.User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.tn(tenantID).users[id]
	if !ok {
		return hr.User{}, false
	}
	return clone(u), true
}

// UserByEmail returns the first user with this email (case-insensitive).
func (s *Server) UserByEmail(tenantID, email string) (hr.User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tn(tenantID)
	ids := t.byEmail[strings.ToLower(email)]
	if len(ids) == 0 {
		return hr.User{}, false
	}
	return clone(t.users[ids[0]]), true
}

// Put stores users as they are (formats checked; uniqueness and required
// values not: see the package comment), giving an id to those without one and version 1 to
// those without a version. All or nothing.
func (s *Server) Put(tenantID string, users ...hr.User) ([]hr.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tn(tenantID)
	for i, u := range users {
		if p := validateFormats(&u); p != nil {
			return nil, fmt.Errorf("[%d] %s", i, p.Message)
		}
		if _, taken := t.users[u.ID]; u.ID != "" && taken {
			return nil, fmt.Errorf("[%d] id %s is taken", i, u.ID)
		}
	}
	out := make([]hr.User, 0, len(users))
	for _, u := range users {
		if u.ID == "" {
			u.ID = t.newID()
		}
		if u.Version == 0 {
			u.Version = 1
		}
		t.store(&u, nil)
		out = append(out, clone(&u))
	}
	return out, nil
}

// Reset forgets every tenant, fault and counter.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenants, s.faults, s.stats = map[string]*tenant{}, Faults{}, Stats{}
}

func (t *tenant) newID() string {
	for {
		t.nextID++
		id := "hr-" + strconv.Itoa(t.nextID)
		if _, taken := t.users[id]; !taken {
			return id
		}
	}
}

// store saves u (replacing old, when it was stored before); s.mu is held.
func (t *tenant) store(u *hr.User, old *hr.User) {
	if old == nil {
		t.order = append(t.order, u.ID)
	} else {
		t.byEmail[strings.ToLower(old.Email)] = without(t.byEmail[strings.ToLower(old.Email)], u.ID)
		if old.Phone != "" {
			t.byPhone[old.Phone] = without(t.byPhone[old.Phone], u.ID)
		}
	}
	t.users[u.ID] = u
	t.byEmail[strings.ToLower(u.Email)] = append(t.byEmail[strings.ToLower(u.Email)], u.ID)
	if u.Phone != "" {
		t.byPhone[u.Phone] = append(t.byPhone[u.Phone], u.ID)
	}
}

func without(ids []string, id string) []string {
	out := ids[:0:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

func clone(u *hr.User) hr.User {
	c := *u
	if u.Address != nil {
		a := *u.Address
		c.Address = &a
	}
	c.Identifications = append([]hr.Identification(nil), u.Identifications...)
	return c
}

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, `rollcall hrsim — a stand-in HR system for development and tests. It is NOT a real HR system.

It speaks a Huma-style HR API (Authorization: Bearer <token>):
  GET   /tenants/{tenant}/users?cursor=&limit=&company=   a page: {"users": [...], "nextCursor": "..."}
  GET   /tenants/{tenant}/users?email=...                 find by email (case-insensitive)
  GET   /tenants/{tenant}/users/{id}
  POST  /tenants/{tenant}/users                           create (Idempotency-Key honoured)
  PATCH /tenants/{tenant}/users/{id}                      update the fields sent (null clears)
A user: {"id","version","companyId","email","givenName","familyName","phone","employmentStartDate",
"employmentEndDate","address":{"street","postalCode","city","countryCode"},"identifications":[{"id","countryCode","type"}]}
Email and phone are unique per tenant (409 duplicate_email, duplicate_phone).

Development switches:
  GET  /_admin/tenants/{tenant}/users   what HR holds (JSON)
  POST /_admin/tenants/{tenant}/users   store a JSON array of users as they are (uniqueness not enforced)
  GET  /_admin/faults | PUT /_admin/faults  {"latency":"50ms","unavailable":2}
  GET  /_admin/stats | POST /_admin/reset
`)
}

func (s *Server) api(h func(w http.ResponseWriter, r *http.Request, t *tenant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !s.tokens[tok] {
			httpx.WriteProblem(w, httpx.NewProblem(http.StatusUnauthorized, "invalid_token", "missing or unknown bearer token"))
			return
		}
		s.mu.Lock()
		f := s.faults
		down := s.faults.Unavailable != 0
		if s.faults.Unavailable > 0 {
			s.faults.Unavailable--
		}
		if down {
			s.stats.Faulted++
		}
		s.mu.Unlock()
		if f.Latency > 0 {
			tm := time.NewTimer(f.Latency)
			select {
			case <-r.Context().Done():
				tm.Stop()
				return
			case <-tm.C:
			}
		}
		if down {
			httpx.WriteProblem(w, httpx.NewProblem(http.StatusServiceUnavailable, "unavailable", "service temporarily unavailable"))
			return
		}
		tenantID := r.PathValue("tenant")
		s.mu.Lock()
		t := s.tn(tenantID)
		s.mu.Unlock()
		h(w, r, t)
	}
}

// page puts nextCursor first, so a client can ask for the next page before
// it has decoded this one.
type page struct {
	NextCursor string    `json:"nextCursor"`
	Users      []hr.User `json:"users"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, t *tenant) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Reads++
	out := page{Users: []hr.User{}}
	if email := q.Get("email"); email != "" {
		for _, id := range t.byEmail[strings.ToLower(email)] {
			out.Users = append(out.Users, clone(t.users[id]))
		}
		httpx.WriteJSON(w, http.StatusOK, out)
		return
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 5000 {
		limit = 100
	}
	from, _ := strconv.Atoi(q.Get("cursor"))
	from = min(max(from, 0), len(t.order))
	company := q.Get("company")
	i := from
	for ; i < len(t.order) && len(out.Users) < limit; i++ {
		u := t.users[t.order[i]]
		if company != "" && u.CompanyID != company {
			continue
		}
		out.Users = append(out.Users, clone(u))
	}
	if i < len(t.order) {
		out.NextCursor = strconv.Itoa(i)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, t *tenant) {
	s.mu.Lock()
	s.stats.Reads++
	u, ok := t.users[r.PathValue("id")]
	var out hr.User
	if ok {
		out = clone(u)
	}
	s.mu.Unlock()
	if !ok {
		httpx.WriteProblem(w, httpx.NewProblem(http.StatusNotFound, "not_found", "no user "+r.PathValue("id")))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) reject(w http.ResponseWriter, p *httpx.Problem) {
	s.stats.Rejected++
	s.mu.Unlock()
	httpx.WriteProblem(w, p)
}

// unique refuses an email or phone another user has; s.mu is held.
func (t *tenant) unique(u *hr.User, self string, email, phone bool) *httpx.Problem {
	if email {
		for _, id := range t.byEmail[strings.ToLower(u.Email)] {
			if id != self {
				return httpx.NewProblem(http.StatusConflict, "duplicate_email", fmt.Sprintf("email %s is already used by user %s", u.Email, id))
			}
		}
	}
	if phone && u.Phone != "" {
		for _, id := range t.byPhone[u.Phone] {
			if id != self {
				return httpx.NewProblem(http.StatusConflict, "duplicate_phone", fmt.Sprintf("phone %s is already used by user %s", u.Phone, id))
			}
		}
	}
	return nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, t *tenant) {
	var u hr.User
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&u); err != nil {
		s.mu.Lock()
		s.reject(w, httpx.NewProblem(http.StatusBadRequest, "bad_request", "body must be a JSON user"))
		return
	}
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	if id, seen := t.idem[key]; key != "" && seen {
		out := clone(t.users[id])
		s.mu.Unlock()
		httpx.WriteJSON(w, http.StatusOK, out)
		return
	}
	u.ID, u.Version = "", 1
	if p := validate(&u); p != nil {
		s.reject(w, p)
		return
	}
	if p := t.unique(&u, "", true, true); p != nil {
		s.reject(w, p)
		return
	}
	u.ID = t.newID()
	t.store(&u, nil)
	if key != "" {
		t.idem[key] = u.ID
	}
	s.stats.Creates++
	out := clone(&u)
	s.mu.Unlock()
	if s.onWrite != nil {
		s.onWrite(r.PathValue("tenant"), out)
	}
	httpx.WriteJSON(w, http.StatusCreated, out)
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, t *tenant) {
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&raw); err != nil || raw == nil {
		s.mu.Lock()
		s.reject(w, httpx.NewProblem(http.StatusBadRequest, "bad_request", "body must be a JSON object"))
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	cur, ok := t.users[id]
	if !ok {
		s.mu.Unlock()
		httpx.WriteProblem(w, httpx.NewProblem(http.StatusNotFound, "not_found", "no user "+id))
		return
	}
	u := clone(cur)
	if p := apply(&u, raw); p != nil {
		s.reject(w, p)
		return
	}
	if p := validate(&u); p != nil {
		s.reject(w, p)
		return
	}
	_, email := raw["email"]
	_, phone := raw["phone"]
	if p := t.unique(&u, id, email && !strings.EqualFold(u.Email, cur.Email), phone && u.Phone != cur.Phone); p != nil {
		s.reject(w, p)
		return
	}
	u.Version = cur.Version + 1
	old := clone(cur)
	t.store(&u, &old)
	s.stats.Updates++
	out := clone(&u)
	s.mu.Unlock()
	if s.onWrite != nil {
		s.onWrite(r.PathValue("tenant"), out)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// apply copies the fields present in raw onto u (null clears).
func apply(u *hr.User, raw map[string]json.RawMessage) *httpx.Problem {
	str := map[string]*string{
		"email": &u.Email, "givenName": &u.GivenName, "familyName": &u.FamilyName, "phone": &u.Phone,
		"employmentStartDate": &u.EmploymentStartDate, "employmentEndDate": &u.EmploymentEndDate, "companyId": &u.CompanyID,
	}
	for k, v := range raw {
		null := string(v) == "null"
		if dst, ok := str[k]; ok {
			*dst = ""
			if !null && json.Unmarshal(v, dst) != nil {
				return httpx.NewProblem(http.StatusUnprocessableEntity, "validation", k+": must be a string")
			}
			continue
		}
		switch k {
		case "address":
			u.Address = nil
			if !null && json.Unmarshal(v, &u.Address) != nil {
				return httpx.NewProblem(http.StatusUnprocessableEntity, "validation", "address: want {street, postalCode, city, countryCode}")
			}
		case "identifications":
			u.Identifications = nil
			if !null && json.Unmarshal(v, &u.Identifications) != nil {
				return httpx.NewProblem(http.StatusUnprocessableEntity, "validation", "identifications: want [{id, countryCode, type}]")
			}
		case "id", "version":
		default:
			return httpx.NewProblem(http.StatusUnprocessableEntity, "validation", k+": unknown field")
		}
	}
	return nil
}

var (
	emailRE   = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	phoneRE   = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
)

func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// validate checks HR's field rules (uniqueness aside).
func validate(u *hr.User) *httpx.Problem {
	bad := func(msg string) *httpx.Problem {
		return httpx.NewProblem(http.StatusUnprocessableEntity, "validation", msg)
	}
	switch {
	case u.Email == "":
		return bad("email: required")
	case strings.TrimSpace(u.GivenName) == "":
		return bad("givenName: required")
	case strings.TrimSpace(u.FamilyName) == "":
		return bad("familyName: required")
	}
	return validateFormats(u)
}

// validateFormats checks the values' formats only (what seeding keeps).
func validateFormats(u *hr.User) *httpx.Problem {
	bad := func(msg string) *httpx.Problem {
		return httpx.NewProblem(http.StatusUnprocessableEntity, "validation", msg)
	}
	switch {
	case u.Email != "" && (len(u.Email) > 254 || !emailRE.MatchString(u.Email)):
		return bad("email: not a valid address")
	case u.Phone != "" && !phoneRE.MatchString(u.Phone):
		return bad("phone: want E.164, e.g. +4791234567")
	case u.EmploymentStartDate != "" && !validDate(u.EmploymentStartDate):
		return bad("employmentStartDate: want YYYY-MM-DD")
	case u.EmploymentEndDate != "" && !validDate(u.EmploymentEndDate):
		return bad("employmentEndDate: want YYYY-MM-DD")
	case u.EmploymentEndDate != "" && u.EmploymentStartDate != "" && u.EmploymentEndDate < u.EmploymentStartDate:
		return bad("employmentEndDate: before employmentStartDate")
	}
	if a := u.Address; a != nil && a.CountryCode != "" && !countryRE.MatchString(a.CountryCode) {
		return bad("address.countryCode: want ISO 3166-1 alpha-2")
	}
	for i, id := range u.Identifications {
		if strings.TrimSpace(id.ID) == "" || !countryRE.MatchString(id.CountryCode) || strings.TrimSpace(id.Type) == "" {
			return bad(fmt.Sprintf("identifications[%d]: want id, countryCode (ISO alpha-2) and type", i))
		}
	}
	return nil
}

func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"note":  "rollcall hrsim: a development stand-in HR system, not a real one",
		"users": s.Users(r.PathValue("tenant")),
	})
}

func (s *Server) adminSeed(w http.ResponseWriter, r *http.Request) {
	var in []hr.User
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20)).Decode(&in); err != nil {
		httpx.WriteProblem(w, httpx.NewProblem(http.StatusBadRequest, "bad_request", "want a JSON array of users: "+err.Error()))
		return
	}
	out, err := s.Put(r.PathValue("tenant"), in...)
	if err != nil {
		httpx.WriteProblem(w, httpx.NewProblem(http.StatusUnprocessableEntity, "validation", err.Error()))
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, out)
}

type faultsJSON struct {
	Latency     string `json:"latency"`
	Unavailable int    `json:"unavailable"`
}

func (s *Server) adminGetFaults(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	httpx.WriteJSON(w, http.StatusOK, faultsJSON{Latency: f.Latency.String(), Unavailable: f.Unavailable})
}

func (s *Server) adminPutFaults(w http.ResponseWriter, r *http.Request) {
	var in faultsJSON
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil {
		httpx.WriteProblem(w, httpx.NewProblem(http.StatusBadRequest, "bad_request", "want a JSON object of faults: "+err.Error()))
		return
	}
	f := Faults{Unavailable: in.Unavailable}
	if in.Latency != "" {
		d, err := time.ParseDuration(in.Latency)
		if err != nil || d < 0 {
			httpx.WriteProblem(w, httpx.NewProblem(http.StatusBadRequest, "bad_request", "latency: want a duration such as 50ms"))
			return
		}
		f.Latency = d
	}
	s.SetFaults(f)
	s.adminGetFaults(w, r)
}

func (s *Server) adminStats(w http.ResponseWriter, _ *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) adminReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}
