// Package tso is the ERP connector for 24SevenOffice's payroll API: a token
// exchange at /auth, employees at /employee/v2 and /employee/v2/{empId},
// employment end dates at /employment/v2/{empId}. It classifies every answer
// into the erp package's error kinds and re-authenticates once when a token
// has expired.
//
// It is not instrumented by itself (wrap it with erp.Instrument) and keeps
// no state beyond its access token.
package tso

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"rollcall.dev/services/sync/erp"
	"rollcall.dev/services/sync/internal/httpx"
)

// Config configures a Client.
type Config struct {
	// BaseURL is the API root, e.g. https://api.24sevenoffice.com or the
	// stand-in's http://localhost:8080/dev/erp.
	BaseURL string
	// APIKey is the key an admin generated in the ERP; it is exchanged for
	// short-lived access tokens and never logged.
	APIKey string
	// Timeout bounds one HTTP request (default 10s).
	Timeout time.Duration
	// HTTPClient is used when set (its own Timeout is left alone).
	HTTPClient *http.Client
	// ListPageSize is the page size of List (default and maximum 1000).
	ListPageSize int
	// ListParallel is how many pages List fetches at once (default 4).
	ListParallel int
}

// Client is a 24SevenOffice connector.
type Client struct {
	base     string
	key      string
	http     *http.Client
	pageSize int
	parallel int
	mu       sync.Mutex
	token    string
	expiry   time.Time
}

var _ erp.Connector = (*Client)(nil)

// New returns a Client; it does not call the ERP.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tso: base URL %q: want an absolute http(s) URL", cfg.BaseURL)
	}
	if cfg.APIKey == "" {
		return nil, errors.New("tso: API key is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		// Keep a connection per concurrent propagation: the default of two
		// idle connections per host would open (and leave in TIME_WAIT) a
		// new connection for most calls.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
		// Each call is a client span in the caller's trace, and carries
		// traceparent (the ERP may join the trace).
		hc = &http.Client{Timeout: cfg.Timeout, Transport: otelhttp.NewTransport(tr)}
	}
	if cfg.ListPageSize <= 0 || cfg.ListPageSize > 1000 {
		cfg.ListPageSize = 1000
	}
	if cfg.ListParallel <= 0 {
		cfg.ListParallel = 4
	}
	return &Client{base: strings.TrimRight(cfg.BaseURL, "/"), key: cfg.APIKey, http: hc, pageSize: cfg.ListPageSize, parallel: cfg.ListParallel}, nil
}

// Authenticate exchanges the API key for a token now (issue 7 checks a key
// this way before saving it).
func (c *Client) Authenticate(ctx context.Context) error {
	_, err := c.accessToken(ctx, true)
	return err
}

func (c *Client) accessToken(ctx context.Context, fresh bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !fresh && c.token != "" && time.Now().Before(c.expiry) {
		return c.token, nil
	}
	body, _ := json.Marshal(map[string]string{"apiKey": c.key})
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := c.roundTrip(ctx, "auth", http.MethodPost, "/auth", "", body, &out); err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", &erp.Error{Kind: erp.ErrUnavailable, Op: "auth", Message: "no access_token in the answer"}
	}
	ttl := time.Duration(out.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = time.Minute
	}
	// Renew a little early so a token does not expire on the wire.
	c.token, c.expiry = out.AccessToken, time.Now().Add(ttl*9/10)
	return c.token, nil
}

// call runs an authenticated request, re-authenticating once when the ERP
// says the token is no longer good.
func (c *Client) call(ctx context.Context, op, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("tso: %s: %w", op, err)
		}
	}
	tok, err := c.accessToken(ctx, false)
	if err != nil {
		return err
	}
	err = c.roundTrip(ctx, op, method, path, tok, body, out)
	if errors.Is(err, erp.ErrUnauthorized) {
		if tok, err = c.accessToken(ctx, true); err != nil {
			return err
		}
		err = c.roundTrip(ctx, op, method, path, tok, body, out)
	}
	return err
}

func (c *Client) roundTrip(ctx context.Context, op, method, path, token string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return &erp.Error{Kind: erp.ErrValidation, Op: op, Message: err.Error()}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return ctx.Err() // the caller gave up: not the ERP's fault
		}
		return &erp.Error{Kind: erp.ErrUnavailable, Op: op, Message: httpx.Redact(err.Error())}
	}
	defer resp.Body.Close()
	data, err := httpx.ReadBody(resp, 4<<20)
	if err != nil {
		return &erp.Error{Kind: erp.ErrUnavailable, Op: op, Status: resp.StatusCode, Message: "reading the answer: " + err.Error()}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil || len(data) == 0 {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return &erp.Error{Kind: erp.ErrUnavailable, Op: op, Status: resp.StatusCode, Message: "undecodable answer: " + err.Error()}
		}
		return nil
	}
	return classify(op, resp, data)
}

func classify(op string, resp *http.Response, data []byte) error {
	code, msg := httpx.ReadProblem(data)
	e := &erp.Error{Op: op, Status: resp.StatusCode, Code: code, Message: msg}
	switch s := resp.StatusCode; {
	case s == http.StatusNotFound:
		e.Kind = erp.ErrNotFound
	case s == http.StatusConflict:
		e.Kind = erp.ErrConflict
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Kind = erp.ErrUnauthorized
	case s == http.StatusTooManyRequests:
		e.Kind = erp.ErrRateLimited
		e.RetryAfter = httpx.RetryAfter(resp.Header.Get("Retry-After"))
	case s == http.StatusRequestTimeout || s >= 500:
		e.Kind = erp.ErrUnavailable
		e.RetryAfter = httpx.RetryAfter(resp.Header.Get("Retry-After"))
	default: // 400, 422 and any other refusal of the request itself
		e.Kind = erp.ErrValidation
	}
	return e
}

// Get implements erp.Connector.
func (c *Client) Get(ctx context.Context, id string) (erp.Employee, error) {
	var e erp.Employee
	err := c.call(ctx, "get", http.MethodGet, "/employee/v2/"+url.PathEscape(id), nil, &e)
	return e, err
}

// FindByEmail implements erp.Connector.
func (c *Client) FindByEmail(ctx context.Context, email string) (erp.Employee, error) {
	var list []erp.Employee
	if err := c.call(ctx, "find", http.MethodGet, "/employee/v2?email="+url.QueryEscape(email), nil, &list); err != nil {
		return erp.Employee{}, err
	}
	for _, e := range list {
		if strings.EqualFold(e.Email, email) {
			return e, nil
		}
	}
	return erp.Employee{}, &erp.Error{Kind: erp.ErrNotFound, Op: "find", Message: "no employee with this email"}
}

// Create implements erp.Connector.
func (c *Client) Create(ctx context.Context, e erp.Employee) (erp.Employee, error) {
	body := map[string]any{}
	for _, f := range erp.Fields {
		if f != erp.FieldEnddate {
			put(body, e, f)
		}
	}
	var out erp.Employee
	err := c.call(ctx, "create", http.MethodPost, "/employee/v2", body, &out)
	if err == nil && out.ID == "" {
		err = &erp.Error{Kind: erp.ErrUnavailable, Op: "create", Message: "no id in the answer"}
	}
	return out, err
}

// Update implements erp.Connector.
func (c *Client) Update(ctx context.Context, id string, e erp.Employee, fields []erp.Field) (erp.Employee, error) {
	body := map[string]any{}
	for _, f := range fields {
		if f == erp.FieldEnddate {
			return erp.Employee{}, &erp.Error{Kind: erp.ErrValidation, Op: "update", Message: "enddate goes through SetEndDate"}
		}
		put(body, e, f)
	}
	var out erp.Employee
	err := c.call(ctx, "update", http.MethodPatch, "/employee/v2/"+url.PathEscape(id), body, &out)
	return out, err
}

// SetEndDate implements erp.Connector.
func (c *Client) SetEndDate(ctx context.Context, id, enddate, reason string) error {
	return c.call(ctx, "employment", http.MethodPut, "/employment/v2/"+url.PathEscape(id),
		map[string]string{"enddate": enddate, "reason": reason}, nil)
}

func put(body map[string]any, e erp.Employee, f erp.Field) {
	if f == erp.FieldInternationalID {
		if e.InternationalID == nil {
			body[string(f)] = nil
		} else {
			body[string(f)] = e.InternationalID
		}
		return
	}
	body[string(f)] = e.Get(f)
}

// List implements erp.Connector: pages of ListPageSize (GET
// /employee/v2?page=N&pageSize=M, N from 0), ListParallel at a time, until a
// page comes back short. The ERP orders employees by id and appends new ones
// at the end, so an employee created meanwhile lands on a later page rather
// than shifting the pages already read.
func (c *Client) List(ctx context.Context) ([]erp.Employee, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next  atomic.Int64 // the next page to fetch
		last  atomic.Int64 // the first short page seen (pages after it are empty)
		mu    sync.Mutex
		pages = map[int64][]erp.Employee{}
		first error
		wg    sync.WaitGroup
	)
	last.Store(-1)
	for range c.parallel {
		wg.Go(func() {
			for {
				p := next.Add(1) - 1
				if l := last.Load(); l >= 0 && p > l {
					return
				}
				// Decoded into room for a full page (the decoder appends).
				page := make([]erp.Employee, 0, c.pageSize)
				path := fmt.Sprintf("/employee/v2?page=%d&pageSize=%d", p, c.pageSize)
				if err := c.call(ctx, "list", http.MethodGet, path, nil, &page); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					cancel()
					return
				}
				mu.Lock()
				pages[p] = page
				mu.Unlock()
				if len(page) < c.pageSize {
					for {
						l := last.Load()
						if (l >= 0 && l <= p) || last.CompareAndSwap(l, p) {
							break
						}
					}
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	n := 0
	for p := range last.Load() + 1 {
		n += len(pages[p])
	}
	out := make([]erp.Employee, 0, n)
	for p := range last.Load() + 1 {
		out = append(out, pages[p]...)
	}
	return out, nil
}

// System labels the 24SevenOffice connector in metrics and spans.
const System = "24sevenoffice"

// Dialer makes 24SevenOffice connectors (instrumented) for API keys: the
// app.ERPDialer of the service, and of the tests against the stand-in.
type Dialer struct {
	BaseURL string
	Timeout time.Duration
}

// Dial implements app.ERPDialer.
func (d Dialer) Dial(apiKey string) (erp.Connector, error) {
	c, err := New(Config{BaseURL: d.BaseURL, APIKey: apiKey, Timeout: d.Timeout})
	if err != nil {
		return nil, err
	}
	return erp.Instrument(c, System), nil
}
