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
//
// Like the real ERP, an API key belongs to one account (one company's
// books): each account has its own employees, and a token sees only its
// key's account. The keys given in Options belong to DefaultAccount;
// POST /_admin/api-keys mints a key for a new account (what an admin does in
// 24SevenOffice under Settings > Misc), so tenants connected to one stand-in
// stay apart.
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
	"strconv"
	"strings"
	"sync"
	"time"

	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/internal/httpx"
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

// DefaultAccount holds the employees of the keys given in Options.APIKeys,
// and is the account the methods without one (Put, Employees, ...) use.
const DefaultAccount = "default"

// Options configure a Server.
type Options struct {
	// APIKeys are the keys /auth accepts for DefaultAccount (more can be
	// minted with NewAPIKey).
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

	mu       sync.Mutex
	keys     map[string]string // API key -> account
	tokens   map[string]token
	faults   Faults
	stats    Stats
	accounts map[string]*account
	nextID   int
	rng      *rand.Rand
}

type token struct {
	expiry  time.Time
	account string
	key     string
}

// account is one ERP account's employees.
type account struct {
	employees map[string]*erp.Employee
	byEmail   map[string]string // lowercased email -> id
	// order lists the ids in creation order, which is also their numeric
	// order (ids only grow): pages are slices of it.
	order []string
}

func newAccount() *account {
	return &account{employees: map[string]*erp.Employee{}, byEmail: map[string]string{}}
}

// acct returns the named account, creating it; s.mu is held.
func (s *Server) acct(name string) *account {
	a := s.accounts[name]
	if a == nil {
		a = newAccount()
		s.accounts[name] = a
	}
	return a
}

// New returns a Server.
func New(o Options) *Server {
	s := &Server{
		mux: http.NewServeMux(), onWrite: o.OnWrite, keys: map[string]string{}, tokens: map[string]token{},
		accounts: map[string]*account{DefaultAccount: newAccount()}, nextID: 1000,
		rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)), //nolint:gosec // fault injection, not security
	}
	for _, k := range o.APIKeys {
		s.keys[k] = DefaultAccount
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
	s.mux.HandleFunc("POST /_admin/employees", s.adminPutEmployees)
	s.mux.HandleFunc("POST /_admin/api-keys", s.adminNewKey)
	s.mux.HandleFunc("DELETE /_admin/api-keys/{key}", s.adminRevokeKey)
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

// Employees returns a copy of every employee of DefaultAccount, in the
// order they were created.
func (s *Server) Employees() []erp.Employee { return s.Account(DefaultAccount).Employees() }

// Employee returns one employee of DefaultAccount by id.
func (s *Server) Employee(id string) (erp.Employee, bool) {
	return s.Account(DefaultAccount).Employee(id)
}

// EmployeeByEmail returns one employee of DefaultAccount by email
// (case-insensitive).
func (s *Server) EmployeeByEmail(email string) (erp.Employee, bool) {
	return s.Account(DefaultAccount).EmployeeByEmail(email)
}

// Put stores an employee in DefaultAccount directly (as if created in the
// ERP by hand), bypassing faults but not the rules; it returns the stored
// record.
func (s *Server) Put(e erp.Employee) (erp.Employee, error) { return s.Account(DefaultAccount).Put(e) }

// NewAPIKey mints an API key for account (a new account when it has no
// employees yet), as an admin generates one in the ERP.
func (s *Server) NewAPIKey(account string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := fmt.Sprintf("simkey-%016x%016x", s.rng.Uint64(), s.rng.Uint64())
	s.keys[key] = account
	s.acct(account)
	return key
}

// RevokeAPIKey makes /auth refuse key and drops the tokens issued for it
// (an admin deleting the key in the ERP). Other keys of the account keep
// working.
func (s *Server) RevokeAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, key)
	for t, tok := range s.tokens {
		if tok.key == key {
			delete(s.tokens, t)
		}
	}
}

// Account is one ERP account's view of the stand-in.
type Account struct {
	s    *Server
	name string
}

// Account returns the named account (created empty when new).
func (s *Server) Account(name string) Account {
	s.mu.Lock()
	s.acct(name)
	s.mu.Unlock()
	return Account{s: s, name: name}
}

// Employees returns a copy of every employee, in the order they were
// created.
func (a Account) Employees() []erp.Employee {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	acc := a.s.acct(a.name)
	out := make([]erp.Employee, 0, len(acc.order))
	for _, id := range acc.order {
		out = append(out, clone(acc.employees[id]))
	}
	return out
}

// Len is the number of employees.
func (a Account) Len() int {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return len(a.s.acct(a.name).order)
}

// Employee returns one employee by id.
func (a Account) Employee(id string) (erp.Employee, bool) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	e, ok := a.s.acct(a.name).employees[id]
	if !ok {
		return erp.Employee{}, false
	}
	return clone(e), true
}

// EmployeeByEmail returns one employee by email (case-insensitive).
func (a Account) EmployeeByEmail(email string) (erp.Employee, bool) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	acc := a.s.acct(a.name)
	id, ok := acc.byEmail[strings.ToLower(email)]
	if !ok {
		return erp.Employee{}, false
	}
	return clone(acc.employees[id]), true
}

// Put stores an employee directly (as if created in the ERP by hand),
// bypassing faults but not the rules; it returns the stored record.
func (a Account) Put(e erp.Employee) (erp.Employee, error) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.s.put(a.s.acct(a.name), e)
}

// Edit changes an employee as if typed into the ERP by hand (the rules
// apply, the faults do not) and returns the stored record.
func (a Account) Edit(id string, change func(e *erp.Employee)) (erp.Employee, error) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	acc := a.s.acct(a.name)
	cur, ok := acc.employees[id]
	if !ok {
		return erp.Employee{}, fmt.Errorf("no employee %s", id)
	}
	e := clone(cur)
	change(&e)
	e.ID = id
	if p := validate(&e); p != nil {
		return erp.Employee{}, errors.New(p.Message)
	}
	if p := acc.checkUnique(e.Email, id); p != nil {
		return erp.Employee{}, errors.New(p.Message)
	}
	acc.store(&e, cur.Email)
	return clone(&e), nil
}

// put stores e in acc under a new id; s.mu is held.
func (s *Server) put(acc *account, e erp.Employee) (erp.Employee, error) {
	if e.InternationalID != nil && *e.InternationalID == (erp.InternationalID{}) {
		e.InternationalID = nil
	}
	if p := validate(&e); p != nil {
		return erp.Employee{}, errors.New(p.Message)
	}
	if p := acc.checkUnique(e.Email, ""); p != nil {
		return erp.Employee{}, errors.New(p.Message)
	}
	s.nextID++
	e.ID = strconv.Itoa(s.nextID)
	acc.store(&e, "")
	return clone(&e), nil
}

// Reset forgets every employee, token, fault and counter.
func (s *Server) Reset() {
	s.mu.Lock()
	s.tokens = map[string]token{}
	for name := range s.accounts {
		s.accounts[name] = newAccount()
	}
	s.stats = Stats{}
	s.mu.Unlock()
	s.SetFaults(Faults{})
}

// ExpireTokens makes every issued token expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, tok := range s.tokens {
		tok.expiry = time.Time{}
		s.tokens[t] = tok
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

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, `rollcall erpsim — a stand-in ERP for development and tests. It is NOT a real ERP.

It speaks the shape of 24SevenOffice's payroll API:
  POST  /auth                      {"apiKey": "..."} -> {"access_token", "expires_in"}
  GET   /employee/v2?email=...     find employees (all, paged with page/pageSize up to 1000, without email)
  POST  /employee/v2               create an employee
  GET   /employee/v2/{empId}       read
  PATCH /employee/v2/{empId}       update the fields sent
  PUT   /employment/v2/{empId}     {"enddate": "YYYY-MM-DD", "reason": "..."} (empty enddate clears it)

Development switches (?account=NAME picks an account; default: "default"):
  POST /_admin/api-keys            mint an API key for a new account -> {"api_key", "account"}
  DELETE /_admin/api-keys/{key}    revoke a key
  GET  /_admin/employees           what the ERP holds (JSON)
  POST /_admin/employees           store a JSON array of employees (as typed into the ERP)
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
		httpx.WriteProblem(w, httpx.NewProblem(http.StatusBadRequest, "bad_request", "body must be JSON with apiKey"))
		return
	}
	s.mu.Lock()
	acc, ok := s.keys[req.APIKey]
	s.stats.Auths++
	var tok string
	ttl := s.faults.TokenTTL
	if ok {
		tok = fmt.Sprintf("simtok-%016x%016x", s.rng.Uint64(), s.rng.Uint64())
		s.tokens[tok] = token{expiry: time.Now().Add(ttl), account: acc, key: req.APIKey}
	}
	s.mu.Unlock()
	if !ok {
		httpx.WriteProblem(w, httpx.NewProblem(http.StatusUnauthorized, "invalid_api_key", "the API key is not valid"))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl.Seconds())})
}

// api wraps an API handler with the token check and the faults; the
// handler gets the token's account.
func (s *Server) api(h func(w http.ResponseWriter, r *http.Request, acc *account)) http.HandlerFunc {
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
				httpx.WriteProblem(w, httpx.NewProblem(http.StatusGatewayTimeout, "timeout", "gave up waiting"))
			}
			return
		case "unavailable":
			httpx.WriteProblem(w, httpx.NewProblem(http.StatusServiceUnavailable, "unavailable", "service temporarily unavailable"))
			return
		case "ratelimit":
			w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
			httpx.WriteProblem(w, httpx.NewProblem(http.StatusTooManyRequests, "rate_limited", "too many requests"))
			return
		case "error":
			httpx.WriteProblem(w, httpx.NewProblem(http.StatusInternalServerError, "internal", "internal error"))
			return
		}
		tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		t, known := s.tokens[tok]
		expired := known && time.Now().After(t.expiry)
		if expired {
			s.stats.Expired++
		}
		acc := s.acct(t.account)
		s.mu.Unlock()
		switch {
		case !found || !known:
			httpx.WriteProblem(w, httpx.NewProblem(http.StatusUnauthorized, "invalid_token", "missing or unknown bearer token"))
			return
		case expired:
			httpx.WriteProblem(w, httpx.NewProblem(http.StatusUnauthorized, "token_expired", "the access token has expired"))
			return
		}
		h(w, r, acc)
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

func (s *Server) list(w http.ResponseWriter, r *http.Request, acc *account) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Reads++
	if email := q.Get("email"); email != "" {
		out := []erp.Employee{}
		if id, ok := acc.byEmail[strings.ToLower(email)]; ok {
			out = append(out, clone(acc.employees[id]))
		}
		httpx.WriteJSON(w, http.StatusOK, out)
		return
	}
	page, _ := strconv.Atoi(q.Get("page"))
	size, _ := strconv.Atoi(q.Get("pageSize"))
	if size <= 0 || size > 1000 {
		size = 100
	}
	from := min(max(page, 0)*size, len(acc.order))
	ids := acc.order[from:min(from+size, len(acc.order))]
	out := make([]erp.Employee, len(ids))
	for i, id := range ids {
		out[i] = clone(acc.employees[id])
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, acc *account) {
	s.mu.Lock()
	s.stats.Reads++
	e, ok := acc.employees[r.PathValue("empId")]
	var out erp.Employee
	if ok {
		out = clone(e)
	}
	s.mu.Unlock()
	if !ok {
		httpx.WriteProblem(w, httpx.NewProblem(http.StatusNotFound, "not_found", "no employee "+r.PathValue("empId")))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) reject(w http.ResponseWriter, p *httpx.Problem) {
	s.mu.Lock()
	s.stats.Rejected++
	if p.Status == http.StatusConflict {
		s.stats.Conflicts++
	}
	s.mu.Unlock()
	httpx.WriteProblem(w, p)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, acc *account) {
	raw, p := decodeObject(w, r)
	if p != nil {
		s.reject(w, p)
		return
	}
	if _, ok := raw["enddate"]; ok {
		s.reject(w, httpx.NewProblem(http.StatusUnprocessableEntity, "validation", "enddate: set it through /employment/v2/{empId} with a reason"))
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
	if p := acc.checkUnique(e.Email, ""); p != nil {
		s.mu.Unlock()
		s.reject(w, p)
		return
	}
	s.nextID++
	e.ID = strconv.Itoa(s.nextID)
	acc.store(&e, "")
	s.stats.Creates++
	out := clone(&e)
	s.mu.Unlock()
	s.wrote(out)
	httpx.WriteJSON(w, http.StatusCreated, out)
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, acc *account) {
	raw, p := decodeObject(w, r)
	if p != nil {
		s.reject(w, p)
		return
	}
	if _, ok := raw["enddate"]; ok {
		s.reject(w, httpx.NewProblem(http.StatusUnprocessableEntity, "validation", "enddate: set it through /employment/v2/{empId} with a reason"))
		return
	}
	id := r.PathValue("empId")
	s.mu.Lock()
	cur, ok := acc.employees[id]
	if !ok {
		s.mu.Unlock()
		httpx.WriteProblem(w, httpx.NewProblem(http.StatusNotFound, "not_found", "no employee "+id))
		return
	}
	e := clone(cur)
	if v, ok := raw["internationalID"]; ok && string(v) == "null" && e.InternationalID != nil {
		s.mu.Unlock()
		s.reject(w, httpx.NewProblem(http.StatusUnprocessableEntity, "validation", "internationalID: cannot be unset"))
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
	if p := acc.checkUnique(e.Email, id); p != nil {
		s.mu.Unlock()
		s.reject(w, p)
		return
	}
	acc.store(&e, cur.Email)
	s.stats.Updates++
	out := clone(&e)
	s.mu.Unlock()
	s.wrote(out)
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) employment(w http.ResponseWriter, r *http.Request, acc *account) {
	var req struct {
		Enddate string `json:"enddate"`
		Reason  string `json:"reason"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		s.reject(w, httpx.NewProblem(http.StatusBadRequest, "bad_request", "body must be JSON with enddate and reason"))
		return
	}
	id := r.PathValue("empId")
	s.mu.Lock()
	cur, ok := acc.employees[id]
	if !ok {
		s.mu.Unlock()
		httpx.WriteProblem(w, httpx.NewProblem(http.StatusNotFound, "not_found", "no employee "+id))
		return
	}
	var p *httpx.Problem
	switch {
	case req.Enddate != "" && !validDate(req.Enddate):
		p = httpx.NewProblem(http.StatusUnprocessableEntity, "validation", "enddate: want YYYY-MM-DD")
	case req.Enddate != "" && strings.TrimSpace(req.Reason) == "":
		p = httpx.NewProblem(http.StatusUnprocessableEntity, "validation", "reason: required with an end date")
	case req.Enddate != "" && cur.Startdate != "" && req.Enddate < cur.Startdate:
		p = httpx.NewProblem(http.StatusUnprocessableEntity, "validation", "enddate: before startdate")
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
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) wrote(e erp.Employee) {
	if s.onWrite != nil {
		s.onWrite(e)
	}
}

// store saves e under its id; s.mu is held.
func (a *account) store(e *erp.Employee, oldEmail string) {
	if oldEmail != "" {
		delete(a.byEmail, strings.ToLower(oldEmail))
	}
	if _, ok := a.employees[e.ID]; !ok {
		a.order = append(a.order, e.ID)
	}
	a.employees[e.ID] = e
	a.byEmail[strings.ToLower(e.Email)] = e.ID
}

// checkUnique refuses an email another employee has; s.mu is held.
func (a *account) checkUnique(email, self string) *httpx.Problem {
	if other, ok := a.byEmail[strings.ToLower(email)]; ok && other != self {
		return httpx.NewProblem(http.StatusConflict, "duplicate_email", fmt.Sprintf("email %s is already used by employee %s", email, other))
	}
	return nil
}

func decodeObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, *httpx.Problem) {
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&raw); err != nil || raw == nil {
		return nil, httpx.NewProblem(http.StatusBadRequest, "bad_request", "body must be a JSON object")
	}
	return raw, nil
}

// apply copies the fields present in raw onto e.
func apply(e *erp.Employee, raw map[string]json.RawMessage) *httpx.Problem {
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
				return httpx.NewProblem(http.StatusUnprocessableEntity, "validation", k+": must be a string")
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
				return httpx.NewProblem(http.StatusUnprocessableEntity, "validation", "internationalID: want {ID, countryCode, type}")
			}
			e.InternationalID = &id
		case "id":
		default:
			return httpx.NewProblem(http.StatusUnprocessableEntity, "validation", k+": unknown field")
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
func validate(e *erp.Employee) *httpx.Problem {
	bad := func(msg string) *httpx.Problem {
		return httpx.NewProblem(http.StatusUnprocessableEntity, "validation", msg)
	}
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

// adminAccount is the ?account= of an admin request (DefaultAccount when
// absent).
func adminAccount(r *http.Request) string {
	if a := r.URL.Query().Get("account"); a != "" {
		return a
	}
	return DefaultAccount
}

func (s *Server) adminEmployees(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"note":      "rollcall erpsim: a development stand-in ERP, not a real one",
		"account":   adminAccount(r),
		"employees": s.Account(adminAccount(r)).Employees(),
	})
}

// adminPutEmployees stores a JSON array of employees in ?account= as if
// typed into the ERP (the rules apply, the faults do not); all or nothing.
func (s *Server) adminPutEmployees(w http.ResponseWriter, r *http.Request) {
	var in []erp.Employee
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20)).Decode(&in); err != nil {
		httpx.WriteProblem(w, httpx.NewProblem(http.StatusBadRequest, "bad_request", "want a JSON array of employees: "+err.Error()))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	acc := s.acct(adminAccount(r))
	// Check everything first against a scratch copy of the emails, so a
	// bad entry stores nothing.
	seen := map[string]bool{}
	for i := range in {
		e := in[i]
		if e.InternationalID != nil && *e.InternationalID == (erp.InternationalID{}) {
			e.InternationalID = nil
		}
		if p := validate(&e); p != nil {
			httpx.WriteProblem(w, httpx.NewProblem(http.StatusUnprocessableEntity, p.Code, fmt.Sprintf("[%d] %s", i, p.Message)))
			return
		}
		k := strings.ToLower(e.Email)
		if _, taken := acc.byEmail[k]; taken || seen[k] {
			httpx.WriteProblem(w, httpx.NewProblem(http.StatusConflict, "duplicate_email", fmt.Sprintf("[%d] email %s is already used", i, e.Email)))
			return
		}
		seen[k] = true
	}
	out := make([]erp.Employee, 0, len(in))
	for _, e := range in {
		stored, err := s.put(acc, e)
		if err != nil { // checked above; never expected
			httpx.WriteProblem(w, httpx.NewProblem(http.StatusInternalServerError, "internal", err.Error()))
			return
		}
		out = append(out, stored)
	}
	httpx.WriteJSON(w, http.StatusCreated, out)
}

// adminNewKey mints an API key: for ?account= (or the body's "account"),
// else for a new account of its own.
func (s *Server) adminNewKey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Account string `json:"account"`
	}
	if r.ContentLength != 0 {
		_ = json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in)
	}
	if in.Account == "" {
		in.Account = r.URL.Query().Get("account")
	}
	if in.Account == "" {
		s.mu.Lock()
		in.Account = fmt.Sprintf("account-%08x", s.rng.Uint32())
		s.mu.Unlock()
	}
	key := s.NewAPIKey(in.Account)
	httpx.WriteJSON(w, http.StatusCreated, map[string]string{"api_key": key, "account": in.Account})
}

func (s *Server) adminRevokeKey(w http.ResponseWriter, r *http.Request) {
	s.RevokeAPIKey(r.PathValue("key"))
	w.WriteHeader(http.StatusNoContent)
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
	httpx.WriteJSON(w, http.StatusOK, faultsJSON{
		Latency: f.Latency.String(), ErrorRate: f.ErrorRate, RateLimit: f.RateLimit, RetryAfter: f.RetryAfter.String(),
		Unavailable: f.Unavailable, Timeout: f.Timeout, TokenTTL: f.TokenTTL.String(),
	})
}

func (s *Server) adminPutFaults(w http.ResponseWriter, r *http.Request) {
	var in faultsJSON
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil {
		httpx.WriteProblem(w, httpx.NewProblem(http.StatusBadRequest, "bad_request", "want a JSON object of faults: "+err.Error()))
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
			httpx.WriteProblem(w, httpx.NewProblem(http.StatusBadRequest, "bad_request", d.name+": want a duration such as 250ms"))
			return
		}
		*d.dst = v
	}
	if in.ErrorRate < 0 || in.ErrorRate > 1 {
		httpx.WriteProblem(w, httpx.NewProblem(http.StatusBadRequest, "bad_request", "error_rate: want 0 to 1"))
		return
	}
	f.ErrorRate, f.RateLimit, f.Unavailable, f.Timeout = in.ErrorRate, in.RateLimit, in.Unavailable, in.Timeout
	s.SetFaults(f)
	s.adminGetFaults(w, r)
}

func (s *Server) adminStats(w http.ResponseWriter, _ *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) adminExpire(w http.ResponseWriter, _ *http.Request) {
	s.ExpireTokens()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) adminReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}
