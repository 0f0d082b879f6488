// Package deploy holds the checks of Rollcall's deployment files: the
// docker-compose stack (docker-compose.yml, .env.example), the Dockerfile,
// the NATS configuration with one user per service (nats/), the Postgres
// init script (postgres/), the Kubernetes manifests (kubernetes/) and the
// Grafana dashboard (grafana/). No Docker engine or cluster runs where the
// tests run, so they validate the files offline: with the compose-spec
// loader, the services' own Config types, the pinned nats-server's config
// parser and a real JetStream server running every service module as its
// NATS user, Kubernetes' API types, and the metric names in the code.
//
// The module also builds two small programs for the container images:
// cmd/probe (the healthcheck of distroless images) and cmd/sms-gateway (a
// development stand-in SMS provider that mails each SMS to Mailpit). It is
// not imported by any service.
package deploy
