package domain_test

import (
	"errors"
	"strings"
	"testing"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "rollcall.dev/proto/gen/rollcall/identity/v1"
	"rollcall.dev/services/identity/domain"
)

// userCodeRule is seed 002 written out by hand: 6 to 10 characters, each
// an ASCII letter or digit.
func userCodeRule(s string) bool {
	if len(s) < 6 || len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// FuzzUserCode checks CheckUserCode against seed 002's rule exactly, that
// its refusal is a field error on user_code, that every case variant of an
// accepted code is accepted too (codes are looked up case-insensitively),
// and that the contract says the same: the CreateServiceUser request and
// the ServiceUserCreated event accept exactly the codes the domain does.
func FuzzUserCode(f *testing.F) {
	for _, s := range []string{
		"Robot01", "ABCDEF", "abcdefghij", "0123456789", "abcde", "abcdefghijk", "abc 123", "abc-123", "abc_123",
		"ÆØÅabc", "abcdef\n", "\nabcdef", "abcdé1", "\u212aiosk01", "K\u0130osk01", "ａｂｃｄｅｆ", "abc\x00def", "",
	} {
		f.Add(s)
	}
	const tenant, app = "0b7c7a2e-5c3e-4a59-9b1c-2f3c4d5e6f70", "1f2e3d4c-5b6a-4789-8abc-def012345678"
	f.Fuzz(func(t *testing.T, s string) {
		err := domain.CheckUserCode(s)
		if ok := userCodeRule(s); (err == nil) != ok {
			t.Fatalf("CheckUserCode(%q) = %v, the rule says %v", s, err, ok)
		}
		var fe *domain.FieldError
		if err != nil && (!errors.As(err, &fe) || fe.Field != "user_code" || !errors.Is(err, domain.ErrInvalid)) {
			t.Fatalf("CheckUserCode(%q) = %v, want a field error on user_code", s, err)
		}
		if err == nil {
			for _, v := range []string{strings.ToLower(s), strings.ToUpper(s)} {
				if domain.CheckUserCode(v) != nil {
					t.Fatalf("%q accepted, its case variant %q refused", s, v)
				}
			}
		}
		req := &identityv1.CreateServiceUserRequest{TenantId: tenant, UserCode: s, ApplicationId: app}
		if perr := protovalidate.Validate(req); hasViolation(perr, "user_code") != (err != nil) {
			t.Fatalf("user code %q: domain %v, CreateServiceUserRequest %v", s, err, perr)
		}
		ev := &identityv1.ServiceUserCreated{UserId: app, TenantId: tenant, OccurredAt: timestamppb.Now(), UserCode: s, ApplicationId: app}
		if perr := protovalidate.Validate(ev); hasViolation(perr, "user_code") != (err != nil) {
			t.Fatalf("user code %q: domain %v, ServiceUserCreated %v", s, err, perr)
		}
	})
}

func hasViolation(err error, field string) bool {
	var ve *protovalidate.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	for _, v := range ve.Violations {
		if protovalidate.FieldPathString(v.Proto.GetField()) == field {
			return true
		}
	}
	return false
}
