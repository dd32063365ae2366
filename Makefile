# Flux. `make dev` runs the local stack, `make test` runs everything; both set up what is missing.
SHELL := /bin/bash
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: setup build dev test test-sql vet fmt bench release-migrations types

setup:
	@scripts/setup

build:
	$(GO) build -o bin/flux ./listener

dev: setup build
	bin/flux dev

# The pgTAP suite runs inside go test (./supabase starts a database and calls pg_prove).
test: setup vet
	cd clients/ts && npm run --silent typecheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) test -count=1 -timeout 20m ./...

test-sql: setup
	$(GO) test -count=1 -v -run TestPgTAP ./supabase/

# Benchmarks print their figures; nothing asserts on time.
bench: setup build
	bin/flux bench escalation
	bin/flux bench chat
	bin/flux bench surface

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
