-- Message DB's write path, restated for the peer benchmark (bench/peers.py) from its
-- published schema (message-db/message-db, database/): the messages table with its
-- unique indexes, and write_message(), which takes a transaction-level advisory lock on
-- the stream's category, reads the stream's version as its highest position, checks the
-- expected version, and inserts the message at the next position. Installed into the
-- benchmark database only, in its own schema.
CREATE SCHEMA IF NOT EXISTS message_store;

CREATE TABLE IF NOT EXISTS message_store.messages (
    global_position bigserial PRIMARY KEY,
    position bigint NOT NULL,
    id uuid NOT NULL,
    time timestamp without time zone NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    stream_name text NOT NULL,
    type text NOT NULL,
    data jsonb,
    metadata jsonb
);

CREATE OR REPLACE FUNCTION message_store.category(stream_name varchar) RETURNS varchar
AS $$ SELECT split_part(stream_name, '-', 1) $$ LANGUAGE sql IMMUTABLE;

CREATE OR REPLACE FUNCTION message_store.hash_64(value varchar) RETURNS bigint
AS $$ SELECT left('x' || md5(value), 17)::bit(64)::bigint $$ LANGUAGE sql IMMUTABLE;

CREATE UNIQUE INDEX IF NOT EXISTS messages_id ON message_store.messages (id);
CREATE UNIQUE INDEX IF NOT EXISTS messages_stream
    ON message_store.messages (stream_name, position);
CREATE INDEX IF NOT EXISTS messages_category
    ON message_store.messages (message_store.category(stream_name), global_position);

CREATE OR REPLACE FUNCTION message_store.stream_version(stream_name varchar) RETURNS bigint
AS $$
    SELECT max(position) FROM message_store.messages m WHERE m.stream_name = $1
$$ LANGUAGE sql VOLATILE;

CREATE OR REPLACE FUNCTION message_store.write_message(
    id varchar,
    stream_name varchar,
    "type" varchar,
    data jsonb,
    metadata jsonb DEFAULT NULL,
    expected_version bigint DEFAULT NULL
) RETURNS bigint
AS $$
DECLARE
    version bigint;
BEGIN
    -- One writer per category at a time: this is how Message DB keeps its order.
    PERFORM pg_advisory_xact_lock(
        message_store.hash_64(message_store.category(write_message.stream_name)));
    version := coalesce(message_store.stream_version(write_message.stream_name), -1);
    IF write_message.expected_version IS NOT NULL
       AND write_message.expected_version <> version THEN
        RAISE EXCEPTION 'Wrong expected version: % (Stream: %, Stream Version: %)',
            write_message.expected_version, write_message.stream_name, version;
    END IF;
    INSERT INTO message_store.messages (id, stream_name, position, type, data, metadata)
    VALUES (write_message.id::uuid, write_message.stream_name, version + 1,
            write_message.type, write_message.data, write_message.metadata);
    RETURN version + 1;
END;
$$ LANGUAGE plpgsql VOLATILE;
