package ports

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"buf.build/go/protovalidate"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"rollcall.dev/pkg/bus"
	commonv1 "rollcall.dev/proto/gen/rollcall/common/v1"
	hrv1 "rollcall.dev/proto/gen/rollcall/hr/v1"
	"rollcall.dev/services/sync/erp"
)

// Webhook headers. The signature is HMAC-SHA256, keyed by the webhook
// secret, of "<timestamp>.<body>", hex-encoded after "sha256=".
const (
	HeaderSignature = "X-Webhook-Signature"
	HeaderTimestamp = "X-Webhook-Timestamp"
	HeaderDelivery  = "X-Webhook-Id"
)

// Webhook topics (Huma-style).
const (
	TopicCreate = "users-create"
	TopicUpdate = "users-update"
	TopicDelete = "users-delete"
	TopicExport = "users-export"
)

// MaxWebhookUsers bounds the users of one delivery (split larger exports).
const MaxWebhookUsers = 1000

// ErrBadWebhook is a delivery that cannot be turned into events.
var ErrBadWebhook = errors.New("bad webhook payload")

// WebhookUser is one HR user in a delivery. A field that is absent or null
// has no value in HR.
type WebhookUser struct {
	ID string `json:"id"`
	// Version is the user's HR version; when absent, updatedAt in
	// microseconds is used (it increases with every change).
	Version             uint64                  `json:"version"`
	UpdatedAt           *time.Time              `json:"updatedAt"`
	Email               *string                 `json:"email"`
	GivenName           *string                 `json:"givenName"`
	FamilyName          *string                 `json:"familyName"`
	Phone               *string                 `json:"phone"`
	EmploymentStartDate *string                 `json:"employmentStartDate"`
	EmploymentEndDate   *string                 `json:"employmentEndDate"`
	Address             *WebhookAddress         `json:"address"`
	Identifications     []WebhookIdentification `json:"identifications"`
	// ChangedFields (users-update) names the fields that changed: email,
	// givenName, familyName, phone, employmentStartDate,
	// employmentEndDate, address, identifications.
	ChangedFields []string `json:"changedFields"`
}

// WebhookAddress is a user's address.
type WebhookAddress struct {
	Street      *string `json:"street"`
	PostalCode  *string `json:"postalCode"`
	City        *string `json:"city"`
	CountryCode *string `json:"countryCode"`
}

// WebhookIdentification is one identification.
type WebhookIdentification struct {
	ID          string `json:"id"`
	CountryCode string `json:"countryCode"`
	Type        string `json:"type"`
}

// WebhookPayload is a delivery's body.
type WebhookPayload struct {
	Topic string `json:"topic"`
	Data  struct {
		Users []WebhookUser `json:"users"`
	} `json:"data"`
}

var dateRE = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)

func parseDate(field, s string) (*commonv1.Date, error) {
	m := dateRE.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("%w: %s: want YYYY-MM-DD", ErrBadWebhook, field)
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return nil, fmt.Errorf("%w: %s: %q is not a date", ErrBadWebhook, field, s)
	}
	return &commonv1.Date{Year: int32(y), Month: int32(mo), Day: int32(d)}, nil
}

// eventNamespace derives webhook event ids: the same delivery always
// yields the same ids, so a retried delivery is de-duplicated downstream.
var eventNamespace = uuid.MustParse("5b1f1c6e-8f0a-4c55-9a43-2d6f4c1d7e01")

// ParseWebhook turns a delivery into validated FieldChanged events, one per
// user. Nothing is returned unless every user is valid.
func ParseWebhook(body []byte, tenantID string, now time.Time) ([]*hrv1.FieldChanged, error) {
	var p WebhookPayload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadWebhook, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrBadWebhook)
	}
	var op hrv1.EmployeeOperation
	switch p.Topic {
	case TopicCreate:
		op = hrv1.EmployeeOperation_EMPLOYEE_OPERATION_CREATED
	case TopicUpdate:
		op = hrv1.EmployeeOperation_EMPLOYEE_OPERATION_UPDATED
	case TopicDelete:
		op = hrv1.EmployeeOperation_EMPLOYEE_OPERATION_DELETED
	case TopicExport:
		op = hrv1.EmployeeOperation_EMPLOYEE_OPERATION_SNAPSHOT
	default:
		return nil, fmt.Errorf("%w: topic: want users-create, users-update, users-delete or users-export, got %q", ErrBadWebhook, p.Topic)
	}
	users := p.Data.Users
	if len(users) == 0 {
		return nil, fmt.Errorf("%w: data.users: at least one user is required", ErrBadWebhook)
	}
	if len(users) > MaxWebhookUsers {
		return nil, fmt.Errorf("%w: data.users: at most %d per delivery", ErrBadWebhook, MaxWebhookUsers)
	}
	out := make([]*hrv1.FieldChanged, 0, len(users))
	seen := map[string]bool{}
	for i, u := range users {
		ev, err := userEvent(u, op, tenantID, now)
		if err != nil {
			return nil, fmt.Errorf("data.users[%d]: %w", i, err)
		}
		if seen[u.ID] {
			return nil, fmt.Errorf("%w: data.users[%d]: user %q appears twice", ErrBadWebhook, i, u.ID)
		}
		seen[u.ID] = true
		if err := protovalidate.Validate(ev); err != nil {
			return nil, fmt.Errorf("%w: data.users[%d]: %w", ErrBadWebhook, i, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

func userEvent(u WebhookUser, op hrv1.EmployeeOperation, tenantID string, now time.Time) (*hrv1.FieldChanged, error) {
	version := u.Version
	if version == 0 && u.UpdatedAt != nil && u.UpdatedAt.UnixMicro() > 0 {
		version = uint64(u.UpdatedAt.UnixMicro())
	}
	if version == 0 {
		return nil, fmt.Errorf("%w: version or updatedAt is required", ErrBadWebhook)
	}
	changedAt := now
	if u.UpdatedAt != nil {
		changedAt = *u.UpdatedAt
	}
	ev := &hrv1.FieldChanged{
		TenantId: tenantID, OccurredAt: timestamppb.New(now), EmployeeId: u.ID, HrVersion: version,
		ChangedAt: timestamppb.New(changedAt), Operation: op,
	}
	if op == hrv1.EmployeeOperation_EMPLOYEE_OPERATION_DELETED {
		return ev, nil
	}
	var include func(string) bool
	if op == hrv1.EmployeeOperation_EMPLOYEE_OPERATION_UPDATED {
		if len(u.ChangedFields) == 0 {
			return nil, fmt.Errorf("%w: changedFields: users-update needs at least one", ErrBadWebhook)
		}
		set := map[string]bool{}
		for _, f := range u.ChangedFields {
			switch f {
			case "email", "givenName", "familyName", "phone", "employmentStartDate", "employmentEndDate", "address", "identifications":
				set[f] = true
			default:
				return nil, fmt.Errorf("%w: changedFields: unknown field %q", ErrBadWebhook, f)
			}
		}
		include = func(f string) bool { return set[f] }
	} else {
		// Created and snapshot: a field is present when HR has a value.
		include = func(f string) bool { return hasValue(u, f) }
	}
	if include("email") {
		ev.Email = &hrv1.EmailChange{NewValue: u.Email}
	}
	if include("givenName") {
		ev.GivenName = &hrv1.NameChange{NewValue: u.GivenName}
	}
	if include("familyName") {
		ev.FamilyName = &hrv1.NameChange{NewValue: u.FamilyName}
	}
	if include("phone") {
		ev.Phone = &hrv1.PhoneChange{NewValue: u.Phone}
		if u.Phone == nil {
			ev.Phone.OldValue = ptr("") // "removed": a change needs a value on one side
		}
	}
	for _, d := range []struct {
		name string
		v    *string
		dst  **hrv1.DateChange
	}{{"employmentStartDate", u.EmploymentStartDate, &ev.EmploymentStartDate}, {"employmentEndDate", u.EmploymentEndDate, &ev.EmploymentEndDate}} {
		if !include(d.name) {
			continue
		}
		ch := &hrv1.DateChange{}
		if d.v != nil {
			dt, err := parseDate(d.name, *d.v)
			if err != nil {
				return nil, err
			}
			ch.NewValue = dt
		} else {
			ch.OldValue = &commonv1.Date{Year: 1, Month: 1, Day: 1} // cleared; the old date is unknown
		}
		*d.dst = ch
	}
	if include("address") {
		ch := &hrv1.AddressChange{}
		if a := u.Address; a != nil {
			ch.NewValue = &hrv1.Address{Postaddress: a.Street, Zipcode: a.PostalCode, City: a.City, CountryCode: a.CountryCode}
		} else {
			ch.OldValue = &hrv1.Address{}
		}
		ev.Address = ch
	}
	if include("identifications") {
		ch := &hrv1.IdentificationsChange{NewValue: &hrv1.Identifications{}}
		for _, id := range u.Identifications {
			ch.NewValue.Items = append(ch.NewValue.Items, &hrv1.Identification{Id: id.ID, CountryCode: id.CountryCode, Type: id.Type})
		}
		ev.Identifications = ch
	}
	return ev, nil
}

func hasValue(u WebhookUser, f string) bool {
	switch f {
	case "email":
		return u.Email != nil
	case "givenName":
		return u.GivenName != nil
	case "familyName":
		return u.FamilyName != nil
	case "phone":
		return u.Phone != nil
	case "employmentStartDate":
		return u.EmploymentStartDate != nil
	case "employmentEndDate":
		return u.EmploymentEndDate != nil
	case "address":
		return u.Address != nil
	case "identifications":
		return len(u.Identifications) > 0
	}
	return false
}

func ptr[T any](v T) *T { return &v }

// Sign computes the signature header value for body sent at ts.
func Sign(secret []byte, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "%d.", ts.Unix())
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Why a delivery's signature or timestamp is refused (VerifyDelivery).
var (
	// ErrBadTimestamp: X-Webhook-Timestamp is not Unix seconds.
	ErrBadTimestamp = errors.New(HeaderTimestamp + ": want Unix seconds")
	// ErrBadSignature: X-Webhook-Signature is not the HMAC of the
	// timestamp and body under the tenant's secret.
	ErrBadSignature = errors.New(HeaderSignature + ": does not match the body and timestamp")
	// ErrStaleDelivery: the timestamp is outside the accepted clock skew
	// (an old delivery replayed, or a clock far off).
	ErrStaleDelivery = errors.New(HeaderTimestamp + ": outside the accepted window (replay?)")
)

// VerifyDelivery checks a delivery's timestamp and signature headers
// against its body: the signature must be Sign(secret, timestamp, body),
// compared in constant time, and the timestamp within tolerance of now.
// The signature is checked first, so an unsigned sender learns nothing
// about the window.
func VerifyDelivery(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	tsec, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	ts := time.Unix(tsec, 0)
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(strings.TrimSpace(signature))) {
		return ErrBadSignature
	}
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %s", ErrStaleDelivery, tolerance)
	}
	return nil
}

// Deliveries remembers delivery ids (replay protection).
type Deliveries interface {
	SeenDelivery(ctx context.Context, tenantID, deliveryID string) (bool, error)
	ForgetDelivery(ctx context.Context, tenantID, deliveryID string) error
	PruneDeliveries(ctx context.Context, keep time.Duration) (int64, error)
}

// EventPublisher publishes events to JetStream (bus.Publisher).
type EventPublisher interface {
	PublishBatch(ctx context.Context, events []bus.Event, spanCtx func(i int) context.Context) []error
}

// Webhook receives HR's Huma-style webhooks at POST /webhooks/hr/{tenant}:
// it checks the HMAC-SHA256 signature, refuses deliveries outside the
// timestamp window or seen before, and publishes one FieldChanged per user
// on hr.v1.<tenant>.employee.<id>.changed (the same path as HR's own
// publishers). 202 means every event is stored in JetStream.
type Webhook struct {
	// Secret returns the tenant's webhook secret (until connections carry
	// their own, one configured secret for every tenant).
	Secret     func(ctx context.Context, tenantID string) ([]byte, error)
	Resolver   erp.Resolver
	Deliveries Deliveries
	Publisher  EventPublisher
	Source     string
	// Tolerance is the accepted clock skew (default 5m).
	Tolerance time.Duration
	Now       func() time.Time
	Log       *slog.Logger

	pruneMu   sync.Mutex
	lastPrune time.Time
}

var tenantRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
var deliveryRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

type webhookError struct {
	Error string `json:"error"`
}

func (h *Webhook) fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(webhookError{Error: msg})
}

// ServeHTTP implements http.Handler.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	tol := h.Tolerance
	if tol <= 0 {
		tol = 5 * time.Minute
	}
	tenant := r.PathValue("tenant")
	if !tenantRE.MatchString(tenant) {
		h.fail(w, http.StatusNotFound, "tenant: want a lowercase UUID in the path")
		return
	}
	if _, err := h.Resolver.Connection(ctx, tenant); err != nil {
		h.fail(w, http.StatusNotFound, "tenant: no HR-to-ERP connection")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
	if err != nil {
		h.fail(w, http.StatusRequestEntityTooLarge, "body: at most 8 MiB")
		return
	}
	secret, err := h.Secret(ctx, tenant)
	if err != nil || len(secret) == 0 {
		h.fail(w, http.StatusNotFound, "tenant: no webhook secret")
		return
	}
	if err := VerifyDelivery(secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, now, tol); err != nil {
		h.fail(w, http.StatusUnauthorized, err.Error())
		return
	}
	delivery := r.Header.Get(HeaderDelivery)
	if !deliveryRE.MatchString(delivery) {
		h.fail(w, http.StatusBadRequest, HeaderDelivery+": want 1 to 128 of A-Z a-z 0-9 _ . : -")
		return
	}
	events, err := ParseWebhook(body, tenant, now)
	if err != nil {
		h.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	first, err := h.Deliveries.SeenDelivery(ctx, tenant, delivery)
	if err != nil {
		h.log().ErrorContext(ctx, "webhook: recording the delivery failed", "error", err)
		h.fail(w, http.StatusServiceUnavailable, "try again later")
		return
	}
	if !first {
		h.fail(w, http.StatusConflict, HeaderDelivery+": this delivery was already received (replay)")
		return
	}
	batch := make([]bus.Event, len(events))
	for i, ev := range events {
		e, err := bus.NewEvent(h.Source, FieldChangedSubject(tenant, ev.GetEmployeeId()), "employee/"+ev.GetEmployeeId(), ev)
		if err != nil {
			h.fail(w, http.StatusInternalServerError, "encoding an event failed")
			return
		}
		e.ID = uuid.NewSHA1(eventNamespace, fmt.Appendf(nil, "%s/%s/%s/%d", tenant, delivery, ev.GetEmployeeId(), ev.GetHrVersion())).String()
		batch[i] = e
	}
	for _, perr := range h.Publisher.PublishBatch(ctx, batch, nil) {
		if perr != nil {
			h.log().ErrorContext(ctx, "webhook: publishing failed; the sender may retry the delivery", "error", perr, "delivery", delivery)
			if ferr := h.Deliveries.ForgetDelivery(context.WithoutCancel(ctx), tenant, delivery); ferr != nil {
				h.log().ErrorContext(ctx, "webhook: forgetting the delivery failed", "error", ferr)
			}
			h.fail(w, http.StatusServiceUnavailable, "events could not be stored; retry the delivery")
			return
		}
	}
	h.prune(ctx, tol)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]int{"events": len(batch)})
}

func (h *Webhook) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

// prune forgets old delivery ids at most every few minutes.
func (h *Webhook) prune(ctx context.Context, tol time.Duration) {
	h.pruneMu.Lock()
	if time.Since(h.lastPrune) < tol {
		h.pruneMu.Unlock()
		return
	}
	h.lastPrune = time.Now()
	h.pruneMu.Unlock()
	go func() {
		if _, err := h.Deliveries.PruneDeliveries(context.WithoutCancel(ctx), 4*tol); err != nil {
			h.log().Warn("webhook: pruning deliveries failed", "error", err)
		}
	}()
}
