// Package erpsim is a stand-in ERP for development, tests and benchmarks. It
// is a development tool, not an ERP: it keeps employees in memory and speaks
// the shape of 24SevenOffice's payroll API that the sync service uses —
// token exchange at /auth, employees at /employee/v2 and
// /employee/v2/{empId}, employment end dates at /employment/v2/{empId} —
// with the ERP's rules: email required and unique (409), validation errors
// (422), an internationalID that can be changed but never unset, an end date
// that needs a reason, and tokens that expire.
//
// Faults are switched at run time over the admin endpoints under /_admin/
// (latency, a random 5xx rate, the next N requests answering 429 with
// Retry-After, 503, or hanging until the client times out), and
// /_admin/employees shows what the ERP holds.
package erpsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"rollcall.dev/services/sync/erp"
)

// Faults are the switches of the simulator. Counters ("the next N
// requests") count down with each API request; -1 means "until switched
// off". They apply to the API, never to /auth's key check or /_admin.
type Faults struct {
	// Latency is added to every API request.
	Latency time.Duration `json:"latency"`
	// ErrorRate is the share (0 to 1) of API requests answering 500.
	ErrorRate float64 `json:"error_rate"`
	// RateLimit: the next N requests answer 429 with Retry-After.
	RateLimit int `json:"rate_limit"`
	// RetryAfter is the Retry-After of a 429 (whole seconds, at least 1).
	RetryAfter time.Duration `json:"retry_after"`
	// Unavailable: the next N requests answer 503.
	Unavailable int `json:"unavailable"`
	// Timeout: the next N requests hang until the client gives up.
	Timeout int `json:"timeout"`
	// TokenTTL is the lifetime of an access token (default 1h).
	TokenTTL time.Duration `json:"token_ttl"`
}

// Stats count what the simulator was asked to do.
type Stats struct {
	Auths     int `json:"auths"`
	Reads     int `json:"reads"`
	Creates   int `json:"creates"`
	Updates   int `json:"updates"`
	Endings   int `json:"endings"`
	Rejected  int `json:"rejected"`  // 409 and 422
	Faulted   int `json:"faulted"`   // 429, 5xx and timeouts injected
	Expired   int `json:"expired"`   // requests with an expired token
	Conflicts int `json:"conflicts"` // 409s
}

// Options configure a Server.
type Options struct {
	// APIKeys are the keys /auth accepts (at least one).
	APIKeys []string
	// Faults are the initial switches.
	Faults Faults
	// OnWrite, when set, is called after every stored write with the
	// employee as stored (benchmarks time propagation with it).
	OnWrite func(e erp.Employee)
}

// Server is the stand-in ERP. It is an http.Handler.
type Server struct {
	mux     *http.ServeMux
	onWrite func(e erp.Employee)

	mu        sync.Mutex
	keys      map[string]bool
	tokens    map[string]time.Time // token -> expiry
	faults    Faults
	stats     Stats
	employees map[string]*erp.Employee
	byEmail   map[string]string // lowercased email -> id
	nextID    int
	rng       *rand.Rand
}

// New returns a Server.
func New(o Options) *Server {
	s := &Server{
		mux: http.NewServeMux(), onWrite: o.OnWrite, keys: map[string]bool{}, tokens: map[string]time.Time{},
		employees: map[string]*erp.Employee{}, byEmail: map[string]string{}, nextID: 1000,
		rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)), //nolint:gosec // fault injection, not security
	}
	for _, k := range o.APIKeys {
		s.keys[k] = true
	}
	s.SetFaults(o.Faults)
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.HandleFunc("POST /auth", s.auth)
	s.mux.HandleFunc("GET /employee/v2", s.api(s.list))
	s.mux.HandleFunc("POST /employee/v2", s.api(s.create))
	s.mux.HandleFunc("GET /employee/v2/{empId}", s.api(s.get))
	s.mux.HandleFunc("PATCH /employee/v2/{empId}", s.api(s.update))
	s.mux.HandleFunc("PUT /employment/v2/{empId}", s.api(s.employment))
	s.mux.HandleFunc("GET /_admin/employees", s.adminEmployees)
	s.mux.HandleFunc("GET /_admin/faults", s.adminGetFaults)
	s.mux.HandleFunc("PUT /_admin/faults", s.adminPutFaults)
	s.mux.HandleFunc("GET /_admin/stats", s.adminStats)
	s.mux.HandleFunc("POST /_admin/expire-tokens", s.adminExpire)
	s.mux.HandleFunc("POST /_admin/reset", s.adminReset)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Development-Tool", "rollcall erpsim: a stand-in ERP, not a real one")
	s.mux.ServeHTTP(w, r)
}

// SetFaults replaces the switches.
func (s *Server) SetFaults(f Faults) {
	if f.TokenTTL <= 0 {
		f.TokenTTL = time.Hour
	}
	if f.RetryAfter < time.Second {
		f.RetryAfter = time.Second
	}
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Faults returns the current switches.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Employees returns a copy of every employee, ordered by id.
func (s *Server) Employees() []erp.Employee {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]erp.Employee, 0, len(s.employees))
	for _, e := range s.employees {
		out = append(out, clone(e))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Employee returns one employee by id.
func (s *Server) Employee(id string) (erp.Employee, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.employees[id]
	if !ok {
		return erp.Employee{}, false
	}
	return clone(e), true
}

// EmployeeByEmail returns one employee by email (case-insensitive).
func (s *Server) EmployeeByEmail(email string) (erp.Employee, bool) {
	s.mu.Lock()
	id, ok := s.byEmail[strings.ToLower(email)]
	s.mu.Unlock()
	if !ok {
		return erp.Employee{}, false
	}
	return s.Employee(id)
}

// Put stores an employee directly (as if created in the ERP by hand),
// bypassing faults but not the rules; it returns the stored record.
func (s *Server) Put(e erp.Employee) (erp.Employee, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.InternationalID != nil && *e.InternationalID == (erp.InternationalID{}) {
		e.InternationalID = nil
	}
	if p := validate(&e); p != nil {
		return erp.Employee{}, errors.New(p.Message)
	}
	if p := s.checkUnique(e.Email, ""); p != nil {
		return erp.Employee{}, errors.New(p.Message)
	}
	s.nextID++
	e.ID = strconv.Itoa(s.nextID)
	s.store(&e, "")
	return clone(&e), nil
}

// Reset forgets every employee, token, fault and counter.
func (s *Server) Reset() {
	s.mu.Lock()
	s.tokens = map[string]time.Time{}
	s.employees = map[string]*erp.Employee{}
	s.byEmail = map[string]string{}
	s.stats = Stats{}
	s.mu.Unlock()
	s.SetFaults(Faults{})
}

// ExpireTokens makes every issued token expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
}

func clone(e *erp.Employee) erp.Employee {
	c := *e
	if e.InternationalID != nil {
		id := *e.InternationalID
		c.InternationalID = &id
	}
	return c
}

// problem is the simulator's error body.
type problem struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, p *problem) { writeJSON(w, p.Status, p) }

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, `rollcall erpsim — a stand-in ERP for development and tests. It is NOT a real ERP.

It speaks the shape of 24SevenOffice's payroll API:
  POST  /auth                      {"apiKey": "..."} -> {"access_token", "expires_in"}
  GET   /employee/v2?email=...     find employees (all, paged with page/pageSize, without email)
  POST  /employee/v2               create an employee
  GET   /employee/v2/{empId}       read
  PATCH /employee/v2/{empId}       update the fields sent
  PUT   /employment/v2/{empId}     {"enddate": "YYYY-MM-DD", "reason": "..."} (empty enddate clears it)

Development switches:
  GET  /_admin/employees           what the ERP holds (JSON)
  GET  /_admin/faults | PUT /_admin/faults  {"latency":"200ms","error_rate":0.1,"rate_limit":3,"retry_after":"2s","unavailable":-1,"timeout":0,"token_ttl":"1h"}
  GET  /_admin/stats               counters
  POST /_admin/expire-tokens       expire every issued token
  POST /_admin/reset               forget everything
`)
}

func (s *Server) auth(w http.ResponseWriter, r *http.Request) {
	var req struct {
		APIKey string `json:"apiKey"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		writeProblem(w, &problem{http.StatusBadRequest, "bad_request", "body must be JSON with apiKey"})
		return
	}
	s.mu.Lock()
	ok := s.keys[req.APIKey]
	s.stats.Auths++
	var tok string
	ttl := s.faults.TokenTTL
	if ok {
		tok = fmt.Sprintf("simtok-%016x%016x", s.rng.Uint64(), s.rng.Uint64())
		s.tokens[tok] = time.Now().Add(ttl)
	}
	s.mu.Unlock()
	if !ok {
		writeProblem(w, &problem{http.StatusUnauthorized, "invalid_api_key", "the API key is not valid"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl.Seconds())})
}

// api wraps an API handler with the token check and the faults.
func (s *Server) api(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		f := s.faults
		fault := ""
		switch {
		case s.faults.Timeout != 0:
			fault = "timeout"
			if s.faults.Timeout > 0 {
				s.faults.Timeout--
			}
		case s.faults.Unavailable != 0:
			fault = "unavailable"
			if s.faults.Unavailable > 0 {
				s.faults.Unavailable--
			}
		case s.faults.RateLimit != 0:
			fault = "ratelimit"
			if s.faults.RateLimit > 0 {
				s.faults.RateLimit--
			}
		case f.ErrorRate > 0 && s.rng.Float64() < f.ErrorRate:
			fault = "error"
		}
		if fault != "" {
			s.stats.Faulted++
		}
		s.mu.Unlock()
		if f.Latency > 0 {
			if !sleep(r.Context(), f.Latency) {
				return
			}
		}
		switch fault {
		case "timeout":
			// Read the body so the server notices when the client hangs
			// up, then hang until it does (or a minute passes).
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
			if sleep(r.Context(), time.Minute) {
				writeProblem(w, &problem{http.StatusGatewayTimeout, "timeout", "gave up waiting"})
			}
			return
		case "unavailable":
			writeProblem(w, &problem{http.StatusServiceUnavailable, "unavailable", "service temporarily unavailable"})
			return
		case "ratelimit":
			w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
			writeProblem(w, &problem{http.StatusTooManyRequests, "rate_limited", "too many requests"})
			return
		case "error":
			writeProblem(w, &problem{http.StatusInternalServerError, "internal", "internal error"})
			return
		}
		tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		exp, known := s.tokens[tok]
		expired := known && time.Now().After(exp)
		if expired {
			s.stats.Expired++
		}
		s.mu.Unlock()
		switch {
		case !found || !known:
			writeProblem(w, &problem{http.StatusUnauthorized, "invalid_token", "missing or unknown bearer token"})
			return
		case expired:
			writeProblem(w, &problem{http.StatusUnauthorized, "token_expired", "the access token has expired"})
			return
		}
		h(w, r)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.stats.Reads++
	s.mu.Unlock()
	if email := q.Get("email"); email != "" {
		out := []erp.Employee{}
		if e, ok := s.EmployeeByEmail(email); ok {
			out = append(out, e)
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	page, _ := strconv.Atoi(q.Get("page"))
	size, _ := strconv.Atoi(q.Get("pageSize"))
	if size <= 0 || size > 1000 {
		size = 100
	}
	all := s.Employees()
	from := min(max(page, 0)*size, len(all))
	writeJSON(w, http.StatusOK, all[from:min(from+size, len(all))])
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Reads++
	s.mu.Unlock()
	e, ok := s.Employee(r.PathValue("empId"))
	if !ok {
		writeProblem(w, &problem{http.StatusNotFound, "not_found", "no employee " + r.PathValue("empId")})
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) reject(w http.ResponseWriter, p *problem) {
	s.mu.Lock()
	s.stats.Rejected++
	if p.Status == http.StatusConflict {
		s.stats.Conflicts++
	}
	s.mu.Unlock()
	writeProblem(w, p)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	raw, p := decodeObject(w, r)
	if p != nil {
		s.reject(w, p)
		return
	}
	if _, ok := raw["enddate"]; ok {
		s.reject(w, &problem{http.StatusUnprocessableEntity, "validation", "enddate: set it through /employment/v2/{empId} with a reason"})
		return
	}
	var e erp.Employee
	if p := apply(&e, raw); p != nil {
		s.reject(w, p)
		return
	}
	s.mu.Lock()
	if p := validate(&e); p != nil {
		s.mu.Unlock()
		s.reject(w, p)
		return
	}
	if p := s.checkUnique(e.Email, ""); p != nil {
		s.mu.Unlock()
		s.reject(w, p)
		return
	}
	s.nextID++
	e.ID = strconv.Itoa(s.nextID)
	s.store(&e, "")
	s.stats.Creates++
	out := clone(&e)
	s.mu.Unlock()
	s.wrote(out)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	raw, p := decodeObject(w, r)
	if p != nil {
		s.reject(w, p)
		return
	}
	if _, ok := raw["enddate"]; ok {
		s.reject(w, &problem{http.StatusUnprocessableEntity, "validation", "enddate: set it through /employment/v2/{empId} with a reason"})
		return
	}
	id := r.PathValue("empId")
	s.mu.Lock()
	cur, ok := s.employees[id]
	if !ok {
		s.mu.Unlock()
		writeProblem(w, &problem{http.StatusNotFound, "not_found", "no employee " + id})
		return
	}
	e := clone(cur)
	if v, ok := raw["internationalID"]; ok && string(v) == "null" && e.InternationalID != nil {
		s.mu.Unlock()
		s.reject(w, &problem{http.StatusUnprocessableEntity, "validation", "internationalID: cannot be unset"})
		return
	}
	if p := apply(&e, raw); p != nil {
		s.mu.Unlock()
		s.reject(w, p)
		return
	}
	if p := validate(&e); p != nil {
		s.mu.Unlock()
		s.reject(w, p)
		return
	}
	if p := s.checkUnique(e.Email, id); p != nil {
		s.mu.Unlock()
		s.reject(w, p)
		return
	}
	s.store(&e, cur.Email)
	s.stats.Updates++
	out := clone(&e)
	s.mu.Unlock()
	s.wrote(out)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) employment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Enddate string `json:"enddate"`
		Reason  string `json:"reason"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		s.reject(w, &problem{http.StatusBadRequest, "bad_request", "body must be JSON with enddate and reason"})
		return
	}
	id := r.PathValue("empId")
	s.mu.Lock()
	cur, ok := s.employees[id]
	if !ok {
		s.mu.Unlock()
		writeProblem(w, &problem{http.StatusNotFound, "not_found", "no employee " + id})
		return
	}
	var p *problem
	switch {
	case req.Enddate != "" && !validDate(req.Enddate):
		p = &problem{http.StatusUnprocessableEntity, "validation", "enddate: want YYYY-MM-DD"}
	case req.Enddate != "" && strings.TrimSpace(req.Reason) == "":
		p = &problem{http.StatusUnprocessableEntity, "validation", "reason: required with an end date"}
	case req.Enddate != "" && cur.Startdate != "" && req.Enddate < cur.Startdate:
		p = &problem{http.StatusUnprocessableEntity, "validation", "enddate: before startdate"}
	}
	if p != nil {
		s.mu.Unlock()
		s.reject(w, p)
		return
	}
	cur.Enddate = req.Enddate
	s.stats.Endings++
	out := clone(cur)
	s.mu.Unlock()
	s.wrote(out)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) wrote(e erp.Employee) {
	if s.onWrite != nil {
		s.onWrite(e)
	}
}

// store saves e under its id; s.mu is held.
func (s *Server) store(e *erp.Employee, oldEmail string) {
	if oldEmail != "" {
		delete(s.byEmail, strings.ToLower(oldEmail))
	}
	s.employees[e.ID] = e
	s.byEmail[strings.ToLower(e.Email)] = e.ID
}

// checkUnique refuses an email another employee has; s.mu is held.
func (s *Server) checkUnique(email, self string) *problem {
	if other, ok := s.byEmail[strings.ToLower(email)]; ok && other != self {
		return &problem{http.StatusConflict, "duplicate_email", fmt.Sprintf("email %s is already used by employee %s", email, other)}
	}
	return nil
}

func decodeObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, *problem) {
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&raw); err != nil || raw == nil {
		return nil, &problem{http.StatusBadRequest, "bad_request", "body must be a JSON object"}
	}
	return raw, nil
}

// apply copies the fields present in raw onto e.
func apply(e *erp.Employee, raw map[string]json.RawMessage) *problem {
	str := map[string]*string{
		"email": &e.Email, "firstname": &e.Firstname, "lastname": &e.Lastname, "telefon": &e.Telefon,
		"startdate": &e.Startdate, "postaddress": &e.Postaddress, "zipcode": &e.Zipcode, "city": &e.City,
		"countryCode": &e.CountryCode,
	}
	for k, v := range raw {
		if dst, ok := str[k]; ok {
			if string(v) == "null" {
				*dst = ""
				continue
			}
			if err := json.Unmarshal(v, dst); err != nil {
				return &problem{http.StatusUnprocessableEntity, "validation", k + ": must be a string"}
			}
			continue
		}
		switch k {
		case "internationalID":
			if string(v) == "null" {
				e.InternationalID = nil
				continue
			}
			var id erp.InternationalID
			if err := json.Unmarshal(v, &id); err != nil {
				return &problem{http.StatusUnprocessableEntity, "validation", "internationalID: want {ID, countryCode, type}"}
			}
			e.InternationalID = &id
		case "id":
		default:
			return &problem{http.StatusUnprocessableEntity, "validation", k + ": unknown field"}
		}
	}
	return nil
}

var (
	emailRE   = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	telefonRE = regexp.MustCompile(`^\+?[0-9 ]{6,20}$`)
	countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
)

func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// validate checks the ERP's field rules.
func validate(e *erp.Employee) *problem {
	bad := func(msg string) *problem { return &problem{http.StatusUnprocessableEntity, "validation", msg} }
	switch {
	case e.Email == "":
		return bad("email: required")
	case len(e.Email) > 254 || !emailRE.MatchString(e.Email):
		return bad("email: not a valid address")
	case strings.TrimSpace(e.Firstname) == "":
		return bad("firstname: required")
	case strings.TrimSpace(e.Lastname) == "":
		return bad("lastname: required")
	case e.Telefon != "" && !telefonRE.MatchString(e.Telefon):
		return bad("telefon: not a valid phone number")
	case e.Startdate != "" && !validDate(e.Startdate):
		return bad("startdate: want YYYY-MM-DD")
	case e.Enddate != "" && e.Startdate != "" && e.Enddate < e.Startdate:
		return bad("startdate: after enddate")
	case e.CountryCode != "" && !countryRE.MatchString(e.CountryCode):
		return bad("countryCode: want ISO 3166-1 alpha-2")
	case len(e.Postaddress) > 200 || len(e.City) > 100 || len(e.Zipcode) > 20:
		return bad("postaddress, zipcode or city: too long")
	}
	if id := e.InternationalID; id != nil {
		switch {
		case strings.TrimSpace(id.ID) == "":
			return bad("internationalID.ID: required")
		case !countryRE.MatchString(id.CountryCode):
			return bad("internationalID.countryCode: want ISO 3166-1 alpha-2")
		case strings.TrimSpace(id.Type) == "":
			return bad("internationalID.type: required")
		}
	}
	return nil
}

// Admin endpoints.

func (s *Server) adminEmployees(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"note":      "rollcall erpsim: a development stand-in ERP, not a real one",
		"employees": s.Employees(),
	})
}

// faultsJSON is Faults with durations as strings ("250ms").
type faultsJSON struct {
	Latency     string  `json:"latency"`
	ErrorRate   float64 `json:"error_rate"`
	RateLimit   int     `json:"rate_limit"`
	RetryAfter  string  `json:"retry_after"`
	Unavailable int     `json:"unavailable"`
	Timeout     int     `json:"timeout"`
	TokenTTL    string  `json:"token_ttl"`
}

func (s *Server) adminGetFaults(w http.ResponseWriter, _ *http.Request) {
	f := s.Faults()
	writeJSON(w, http.StatusOK, faultsJSON{
		Latency: f.Latency.String(), ErrorRate: f.ErrorRate, RateLimit: f.RateLimit, RetryAfter: f.RetryAfter.String(),
		Unavailable: f.Unavailable, Timeout: f.Timeout, TokenTTL: f.TokenTTL.String(),
	})
}

func (s *Server) adminPutFaults(w http.ResponseWriter, r *http.Request) {
	var in faultsJSON
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil {
		writeProblem(w, &problem{http.StatusBadRequest, "bad_request", "want a JSON object of faults: " + err.Error()})
		return
	}
	var f Faults
	for _, d := range []struct {
		name string
		in   string
		dst  *time.Duration
	}{{"latency", in.Latency, &f.Latency}, {"retry_after", in.RetryAfter, &f.RetryAfter}, {"token_ttl", in.TokenTTL, &f.TokenTTL}} {
		if d.in == "" {
			continue
		}
		v, err := time.ParseDuration(d.in)
		if err != nil || v < 0 {
			writeProblem(w, &problem{http.StatusBadRequest, "bad_request", d.name + ": want a duration such as 250ms"})
			return
		}
		*d.dst = v
	}
	if in.ErrorRate < 0 || in.ErrorRate > 1 {
		writeProblem(w, &problem{http.StatusBadRequest, "bad_request", "error_rate: want 0 to 1"})
		return
	}
	f.ErrorRate, f.RateLimit, f.Unavailable, f.Timeout = in.ErrorRate, in.RateLimit, in.Unavailable, in.Timeout
	s.SetFaults(f)
	s.adminGetFaults(w, r)
}

func (s *Server) adminStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) adminExpire(w http.ResponseWriter, _ *http.Request) {
	s.ExpireTokens()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) adminReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}
