// Package account exports and erases one user's data: GDPR portability (a ZIP of JSON files) and
// erasure (every row, agent state and the auth user), as the product promises every user.
//
// Catalog-driven. No table is listed here: both operations read pg_catalog at run time for every
// base table of schemas public and flux with a uuid column user_id, plus public.users (keyed by
// id). A table added by a later migration is therefore exported and erased without editing this
// package, the same rule the pgTAP erasure test (tests.user_tables) checks; every table of a
// user's data has that column (flux.webhook_receipts gained it, and outlives the task it names).
// auth.* is never exported: it is GoTrue's (password hashes, tokens), and public.users
// already carries the email and phone number.
//
// Export is one snapshot: every read runs in a single REPEATABLE READ, READ ONLY transaction, so
// the files agree with each other (no message without its conversation, no count in the manifest
// that a file contradicts) while the user keeps chatting. Rows are streamed one at a time into the
// ZIP, so memory stays flat however much history there is.
//
// Delete removes the auth user: through GoTrue's admin API when an Admin is set (on Supabase,
// GoTrue owns auth.users and its sessions and identities), else directly. ON DELETE CASCADE removes
// every row that references it. Webhook receipts are found through the user's tasks, so they are
// deleted before the tasks cascade away. A sweep then deletes rows the cascade did not reach (a
// user table without the foreign key), and a verification reads the catalog again and fails,
// naming the tables, if anything of the user remains.
//
// Delete is idempotent: erasing a user who is already gone (or a retry after a failure half-way)
// does the remaining work and returns nil; GoTrue's "user not found" counts as done.
package account
