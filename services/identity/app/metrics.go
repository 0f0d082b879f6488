package app

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics live on the default Prometheus registry, served at /metrics.
var (
	metricServiceUserSignInRefused = promauto.NewCounter(prometheus.CounterOpts{
		Name: "rollcall_identity_service_user_signin_refused_total",
		Help: "Interactive sign-ins refused because the credentials are a service user's (seed 002: API only).",
	})
	metricLoginLocked = promauto.NewCounter(prometheus.CounterOpts{
		Name: "rollcall_identity_password_attempts_locked_total",
		Help: "Password attempts at SignIn or IssueServiceToken refused because the login is locked after too many failures.",
	})
	metricLoginRefused = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "rollcall_identity_login_refused_total",
		Help: "Login assertions refused by a provider (forged, expired, replayed, other audience, bad number).",
	}, []string{"provider"})
)
