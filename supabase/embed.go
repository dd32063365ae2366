// Package supabase embeds what is deployed into a Supabase project: the migrations (the single
// source of truth for the schema) and the seed. The pgTAP suite in tests/ runs from this
// package's Go tests.
package supabase

import "embed"

// Migrations holds migrations/<14-digit timestamp>_<name>.up.sql, in the layout golang-migrate's
// iofs source and `supabase db push` both read.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Baseline is the last migration of the first release: the ten files every database deployed
// then started from. Upgrades are tested from here.
const Baseline = 20261125000910

// Seed is seed.sql: two demo users with data in every user table.
//
//go:embed seed.sql
var Seed string
