import { useEffect, useState } from "preact/hooks";
import { api, describeError, type ExpectedVersion, type Problem } from "../api/client";
import { refreshTick, selectedStream } from "../state";

type Outcome =
  | { kind: "ok"; text: string }
  | { kind: "conflict"; problem: Problem }
  | { kind: "error"; text: string };

function parseObject(label: string, text: string, object: boolean): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${label} is not valid JSON: ${(e as Error).message}`);
  }
  if (object && (typeof value !== "object" || value === null || Array.isArray(value)))
    throw new Error(`${label} must be a JSON object`);
  return value;
}

export function Publish({ chronicle }: { chronicle: string }) {
  const [stream, setStream] = useState(selectedStream.value ?? "");
  const [type, setType] = useState("sensor/temp/room1");
  const [body, setBody] = useState('{"celsius": 21.5}');
  const [metadata, setMetadata] = useState("{}");
  const [mode, setMode] = useState<"any" | "no_stream" | "exists" | "empty" | "number">("any");
  const [number, setNumber] = useState("0");
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (selectedStream.value) setStream(selectedStream.value);
  }, [selectedStream.value]);

  async function publish(e: Event) {
    e.preventDefault();
    let data: unknown;
    let meta: Record<string, unknown>;
    try {
      data = parseObject("Body", body, false);
      meta = parseObject("Metadata", metadata, true) as Record<string, unknown>;
    } catch (err) {
      setOutcome({ kind: "error", text: (err as Error).message });
      return;
    }
    const expected: ExpectedVersion = mode === "number" ? Number(number) : mode;
    setBusy(true);
    try {
      const { data: written, error, response } = await api.POST(
        "/chronicles/{chronicle}/streams/{stream}/events",
        {
          params: { path: { chronicle, stream } },
          body: { events: [{ type, data, metadata: meta }], expected_version: expected },
        },
      );
      if (response.status === 409 && error) setOutcome({ kind: "conflict", problem: error as Problem });
      else if (error) setOutcome({ kind: "error", text: describeError(error) });
      else {
        const first = written.events[0];
        setOutcome({
          kind: "ok",
          text: `Published to ${stream}: version ${first?.version ?? "?"}, position ${first?.position ?? "?"}`,
        });
        if (mode === "number") setNumber(String(written.stream_version));
        refreshTick.value += 1;
        if (!selectedStream.value) selectedStream.value = stream;
      }
    } catch (err) {
      setOutcome({ kind: "error", text: String(err) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="panel" aria-labelledby="publish-h">
      <h2 id="publish-h">Publish to {chronicle}</h2>
      <form onSubmit={publish} class="form">
        <label>
          Stream
          <input
            name="stream"
            value={stream}
            required
            pattern="[A-Za-z0-9_.:@\-]{1,200}"
            onInput={(e) => setStream(e.currentTarget.value)}
          />
        </label>
        <label>
          Type
          <input name="type" value={type} required onInput={(e) => setType(e.currentTarget.value)} />
        </label>
        <label>
          Body (JSON)
          <textarea name="body" rows={4} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
        </label>
        <label>
          Metadata (JSON object)
          <textarea
            name="metadata"
            rows={2}
            value={metadata}
            onInput={(e) => setMetadata(e.currentTarget.value)}
          />
        </label>
        <div class="row">
          <label class="grow">
            Expected version
            <select
              name="expected"
              value={mode}
              onChange={(e) => setMode(e.currentTarget.value as typeof mode)}
            >
              <option value="any">any</option>
              <option value="no_stream">no stream</option>
              <option value="exists">exists</option>
              <option value="empty">empty</option>
              <option value="number">exact version…</option>
            </select>
          </label>
          {mode === "number" && (
            <label>
              Version
              <input
                name="expected-number"
                type="number"
                min={0}
                value={number}
                onInput={(e) => setNumber(e.currentTarget.value)}
              />
            </label>
          )}
        </div>
        <button type="submit" disabled={busy}>
          Publish
        </button>
      </form>
      {outcome?.kind === "ok" && (
        <p role="status" class="ok">
          {outcome.text}
        </p>
      )}
      {outcome?.kind === "error" && (
        <p role="alert" class="bad">
          {outcome.text}
        </p>
      )}
      {outcome?.kind === "conflict" && (
        <div role="alert" class="conflict" data-testid="conflict">
          <strong>409 Conflict: wrong expected version</strong>
          <p>
            Expected {String(outcome.problem.details?.expected ?? "?")}, but the stream is at{" "}
            {outcome.problem.details?.actual === null || outcome.problem.details?.actual === undefined
              ? "no stream"
              : String(outcome.problem.details.actual)}
            . Nothing was written.
          </p>
          <p class="small muted">{outcome.problem.detail}</p>
        </div>
      )}
    </section>
  );
}
