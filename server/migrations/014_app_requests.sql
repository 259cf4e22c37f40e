-- 014_app_requests: requests of the server to a gateway app, carried out by
-- the app (docs/gateway.md, "Requests"): the app self-check of the monitor
-- (M4) and an instrument's firmware upgrade (M6). A user makes a request;
-- the app reads its pending requests (GET /api/v1/ingest/requests) and
-- answers each once (POST /api/v1/ingest/requests/{id}) with whether it
-- worked, a sentence and a JSON result. A request not answered within 10
-- minutes counts as expired (computed when read: no job needed); answered
-- and expired requests are deleted after 30 days by the jobs thread.
CREATE TABLE app_requests (
    account_id    bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id        bigint NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('self_check', 'firmware_upgrade')),
    device_id     bigint,
    firmware      text CHECK (length(firmware) BETWEEN 1 AND 32),
    requested_by  bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    answered_at   timestamptz,
    ok            boolean,
    message       text CHECK (length(message) <= 300),
    result        jsonb,
    UNIQUE (account_id, id),
    CHECK ((kind = 'firmware_upgrade') = (device_id IS NOT NULL AND firmware IS NOT NULL)),
    CHECK ((answered_at IS NULL) = (ok IS NULL)),
    FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, app_id) REFERENCES apps (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, requested_by) REFERENCES users (account_id, id)
        ON DELETE SET NULL (requested_by)
);
CREATE INDEX app_requests_app ON app_requests (account_id, app_id, id);
CREATE INDEX app_requests_pending ON app_requests (app_id, created_at) WHERE answered_at IS NULL;
CREATE INDEX app_requests_old ON app_requests (created_at);
