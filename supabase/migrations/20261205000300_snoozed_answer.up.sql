-- A fourth answer to a reminder: snooze. An enum value added in a transaction cannot be used in
-- that transaction, so it has a migration of its own, before the one that uses it.
alter type public.reminder_response add value 'snoozed';
