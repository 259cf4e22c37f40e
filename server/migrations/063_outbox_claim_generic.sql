-- 063_outbox_claim_generic: notify_claim() plans its statements once per
-- session instead of on every claim (docs/notify.md, "Order and receivers
-- in flight"; docs/benchmarks.md, "acctlimit").
--
-- The claim's statements take PL/pgSQL variables as parameters (the busy
-- receivers, hosts and accounts, the limits, the row's ids). PostgreSQL's
-- plan cache weighs a generic plan against custom ones and here went on
-- planning a custom plan at each execution: with nothing busy, half of a
-- claim's CPU (0.40 -> 0.20 ms a claim beside a backlog of 50,000 mails;
-- 0.62-0.65 -> 0.48-0.50 ms with a hung host or an account at its limit).
-- The generic plans are those the custom ones were: the due scan on
-- notify_outbox_due_first (or notify_outbox_due_hooks) in its order with
-- the busy sets as a filter, the rows in flight on notify_outbox_in_flight,
-- the expiring ones on notify_outbox_expiring, the rest by primary key.
-- The setting holds for the duration of a call, so for notify_claim_held()
-- and the wrappers of the older claims too.
ALTER FUNCTION notify_claim(text, integer, integer, integer[], integer, jsonb)
    SET plan_cache_mode = force_generic_plan;
