# Flux. `make dev` runs the local stack, `make test` runs everything; both set up what is missing.
SHELL := /bin/bash
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: setup build dev test test-sql vet fmt bench fuzz release-migrations types

setup:
	@scripts/setup

build:
	$(GO) build -o bin/flux ./listener

dev: setup build
	bin/flux dev

# The pgTAP suite runs inside go test (./supabase starts a database and calls pg_prove).
test: setup vet
	cd clients/ts && npm run --silent typecheck
	promtool check rules deploy/prometheus/flux-alerts.yml
	promtool test rules deploy/prometheus/flux-alerts_test.yml
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) test -count=1 -timeout 20m ./...

test-sql: setup
	$(GO) test -count=1 -v -run TestPgTAP ./supabase/

# Benchmarks print their figures; nothing asserts on time.
bench: setup build
	bin/flux bench escalation
	bin/flux bench chat
	bin/flux bench surface

# Each fuzz target for FUZZTIME (go test -fuzz takes one target at a time); not part of `make test`,
# which runs only the committed seeds (testdata/fuzz/). A failing input is written there; the
# other targets still run, and make fails at the end.
FUZZTIME ?= 30s
FUZZ_TARGETS := ./listener/webhook/:FuzzSignature ./listener/webhook/:FuzzForm ./listener/reminder/:FuzzParse ./agentsvc/timeparse/:FuzzParse
fuzz:
	@failed=0; for t in $(FUZZ_TARGETS); do \
		echo "$(GO) test -run '^$$' -fuzz '^$${t#*:}$$' -fuzztime $(FUZZTIME) $${t%%:*}"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) $${t%%:*} || failed=1; \
	done; exit $$failed

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# A migration is released when it lands: its SHA-256 goes into supabase/released-migrations.sha256
# and `make test` fails if the file ever changes again.
release-migrations:
	@scripts/release-migrations

# supabase/types/database.ts from the migrated schema, by Supabase's own generator (postgres-meta,
# what `supabase gen types typescript` runs); make test fails while it is stale.
types: setup
	$(GO) test -count=1 -run '^TestGeneratedTypes$$' ./supabase/ -args -update
