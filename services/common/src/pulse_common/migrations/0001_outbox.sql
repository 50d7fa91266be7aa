-- Transactional outbox: rows are written in the same transaction as the fact they announce
-- and published by the relay with Nats-Msg-Id = msg_id (JetStream de-duplicates retries).
CREATE TABLE IF NOT EXISTS outbox (
    seq         bigserial PRIMARY KEY,
    msg_id      text NOT NULL UNIQUE,
    subject     text NOT NULL,
    payload     bytea NOT NULL,
    headers     jsonb NOT NULL DEFAULT '{}'::jsonb,
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text
);

-- Processed-message ledger for consumers: the handler inserts the message id in the same
-- transaction as its effect, so a redelivery changes nothing.
CREATE TABLE IF NOT EXISTS processed_messages (
    msg_id       text PRIMARY KEY,
    subject      text NOT NULL,
    processed_on date NOT NULL DEFAULT current_date
);
