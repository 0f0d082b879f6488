# syntax=docker/dockerfile:1.7
#
# One multi-target build for every Rollcall image. Each target is a static
# binary (CGO_ENABLED=0) on distroless static, running as the non-root user
# 65532; every image also holds /probe, the healthcheck docker-compose runs
# (distroless has no shell or curl).
#
#   docker build --target invitation -t rollcall/invitation .
#   docker compose build            # every target docker-compose.yml uses
#
# Targets: invitation, identity, integrator-policy, sync (the services);
# rollcall (the operator CLI; `rollcall erpsim` is the stand-in ERP);
# sms-gateway (a development stand-in SMS provider that mails to Mailpit).
# deploy/dockerfile_test.go checks the targets and runs this file's build
# steps on the build context .dockerignore leaves.

# The Go of go.work, exact; the base images are pinned by tag (resolve and
# add @sha256: digests in a release pipeline, where a registry is reachable).
ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local
# The workspace and each module's go.mod and go.sum first: the download
# layer is reused until a dependency changes.
COPY go.work go.work.sum ./
COPY proto/go.mod proto/go.sum proto/
COPY pkg/go.mod pkg/go.sum pkg/
COPY services/invitation/go.mod services/invitation/go.sum services/invitation/
COPY services/identity/go.mod services/identity/go.sum services/identity/
COPY services/integrator-policy/go.mod services/integrator-policy/go.sum services/integrator-policy/
COPY services/sync/go.mod services/sync/go.sum services/sync/
COPY cmd/rollcall/go.mod cmd/rollcall/go.sum cmd/rollcall/
COPY deploy/go.mod deploy/go.sum deploy/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -ldflags="-s -w -X rollcall.dev/pkg/platform.Version=${VERSION}" -o /out/ \
      rollcall.dev/services/invitation/cmd/invitation \
      rollcall.dev/services/identity/cmd/identity \
      rollcall.dev/services/integrator-policy/cmd/integrator-policy \
      rollcall.dev/services/sync/cmd/sync \
      rollcall.dev/cmd/rollcall \
      rollcall.dev/deploy/cmd/probe \
      rollcall.dev/deploy/cmd/sms-gateway

# What every image shares: CA certificates and time zones (distroless), the
# probe, a non-root user and a writable home as the working directory.
FROM gcr.io/distroless/static-debian12:nonroot AS runtime
COPY --from=build /out/probe /probe
WORKDIR /home/nonroot
USER 65532:65532

FROM runtime AS invitation
COPY --from=build /out/invitation /invitation
EXPOSE 8080
ENTRYPOINT ["/invitation"]

FROM runtime AS identity
COPY --from=build /out/identity /identity
EXPOSE 8080
ENTRYPOINT ["/identity"]

FROM runtime AS integrator-policy
COPY --from=build /out/integrator-policy /integrator-policy
EXPOSE 8080
ENTRYPOINT ["/integrator-policy"]

FROM runtime AS sync
COPY --from=build /out/sync /sync
EXPOSE 8080
ENTRYPOINT ["/sync"]

FROM runtime AS sms-gateway
COPY --from=build /out/sms-gateway /sms-gateway
EXPOSE 8080
ENTRYPOINT ["/sms-gateway"]

# The operator CLI (`docker run rollcall/rollcall events ...`), and the
# stand-in ERP (`rollcall erpsim`). Last, so a plain `docker build .` gives it.
FROM runtime AS rollcall
COPY --from=build /out/rollcall /rollcall
ENTRYPOINT ["/rollcall"]
CMD ["--help"]
