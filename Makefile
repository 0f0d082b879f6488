# Rollcall developer commands. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Every Go module of the workspace (tools/ is separate: it only pins tools).
MODULES := proto pkg services/invitation services/identity services/integrator-policy services/sync cmd/rollcall deploy
GOLANGCI_LINT_VERSION := v2.15.0
BIN := $(CURDIR)/bin
GOLANGCI_LINT := $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
# buf breaking compares the schema with this git ref (CI: the previous commit of main).
BREAKING_AGAINST ?= HEAD~1
# Extra flags for go test, e.g. make test TESTFLAGS='-run TestOutbox -v'
TESTFLAGS ?=

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: dev
dev: ## Run the whole stack in one process (embedded NATS, four services; Postgres at DATABASE_URL)
	@mkdir -p $(BIN)
	go build -o $(BIN)/rollcall rollcall.dev/cmd/rollcall
	$(BIN)/rollcall dev

.PHONY: test
test: ## Run every test of every module with the race detector (real Postgres and JetStream)
	go test -race -count=1 -timeout 20m $(TESTFLAGS) rollcall.dev/...

.PHONY: test-chaos
test-chaos: ## Fault tests (~3-4 min): services killed -9 under load, JetStream killed, Postgres backends ended, the ERP down; prints the counts
	go test -tags chaos -count=1 -timeout 30m -v -run '^TestChaos' $(TESTFLAGS) rollcall.dev/cmd/rollcall

.PHONY: generate
generate: ## Regenerate proto/gen and the printed buf/validate/validate.proto
	bash proto/generate.sh

.PHONY: check-generate
check-generate: generate ## Fail if regenerating changes anything under proto/
	@if ! git diff --quiet -- proto || [ -n "$$(git ls-files --others --exclude-standard -- proto)" ]; then \
		echo "generated code is stale: run 'make generate' and commit the result" >&2; \
		git status --short -- proto >&2; exit 1; fi
	@echo "generated code is up to date"

.PHONY: lint
lint: $(GOLANGCI_LINT) ## go vet, buf lint and golangci-lint over every module
	go vet rollcall.dev/...
	go vet -tags chaos rollcall.dev/cmd/rollcall
	bash proto/lint.sh
	@for m in $(MODULES); do echo "golangci-lint $$m"; (cd $$m && $(GOLANGCI_LINT) run --build-tags chaos --config $(CURDIR)/.golangci.yml ./...); done

$(GOLANGCI_LINT):
	@mkdir -p $(BIN)
	GOWORK=off GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(BIN)/golangci-lint $@

.PHONY: breaking
breaking: ## buf breaking: the proto schema against BREAKING_AGAINST (default HEAD~1)
	bash proto/breaking.sh $(BREAKING_AGAINST)

.PHONY: bench
bench: ## Benchmarks, each reporting its figures as a ratio to a baseline measured in the same run
	go test -run '^$$' -bench . -benchtime 3x -count 1 rollcall.dev/pkg/... rollcall.dev/services/...

.PHONY: tidy
tidy: ## go mod tidy in every module
	@for m in $(MODULES); do echo "tidy $$m"; (cd $$m && go mod tidy); done

.PHONY: build
build: ## Build every binary into ./bin
	@mkdir -p $(BIN)
	go build -o $(BIN)/ rollcall.dev/cmd/rollcall rollcall.dev/services/invitation/cmd/invitation rollcall.dev/services/identity/cmd/identity rollcall.dev/services/integrator-policy/cmd/integrator-policy rollcall.dev/services/sync/cmd/sync
