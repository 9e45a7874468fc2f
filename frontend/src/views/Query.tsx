import { useState } from "preact/hooks";
import { api, describeError, type RecordedEvent } from "../api/client";
import { EventItem } from "./EventView";

function toNs(local: string): number | undefined {
  if (!local) return undefined;
  return new Date(local).getTime() * 1e6;
}

/** Latest event per type, or a time series, for type patterns ('?' one segment, '*' the rest). */
export function Query({ chronicle }: { chronicle: string }) {
  const [kind, setKind] = useState<"latest" | "timeseries">("latest");
  const [patterns, setPatterns] = useState("sensor/*");
  const [order, setOrder] = useState<"ascending" | "descending">("descending");
  const [maxResults, setMaxResults] = useState("50");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const [result, setResult] = useState<{ events: RecordedEvent[]; more: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function run(e: Event) {
    e.preventDefault();
    const types = patterns
      .split(/[\s,]+/)
      .map((p) => p.trim())
      .filter((p) => p.length > 0);
    const typed = types.length > 0 ? { types } : {};
    const answer =
      kind === "latest"
        ? await api.GET("/chronicles/{chronicle}/query/latest", {
            params: { path: { chronicle }, query: typed },
          })
        : await api.GET("/chronicles/{chronicle}/query/timeseries", {
            params: {
              path: { chronicle },
              query: {
                ...typed,
                order,
                max_results: Number(maxResults) || 50,
                ...(toNs(since) !== undefined ? { t_from: toNs(since) } : {}),
                ...(toNs(until) !== undefined ? { t_to: toNs(until) } : {}),
              },
            },
          });
    if (answer.error) {
      setError(describeError(answer.error));
      setResult(null);
    } else {
      setError(null);
      setResult({ events: answer.data.events, more: answer.data.more_follows });
    }
  }

  return (
    <section class="panel" aria-labelledby="query-h">
      <h2 id="query-h">Query</h2>
      <form class="form" onSubmit={run}>
        <div class="row wrap">
          <label>
            Kind
            <select name="query-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as typeof kind)}>
              <option value="latest">latest per type</option>
              <option value="timeseries">time series</option>
            </select>
          </label>
          <label class="grow">
            Type patterns (space or comma separated; ? = one segment, * = the rest)
            <input name="query-types" value={patterns} onInput={(e) => setPatterns(e.currentTarget.value)} />
          </label>
        </div>
        {kind === "timeseries" && (
          <div class="row wrap">
            <label>
              Order
              <select name="query-order" value={order} onChange={(e) => setOrder(e.currentTarget.value as typeof order)}>
                <option value="descending">newest first</option>
                <option value="ascending">oldest first</option>
              </select>
            </label>
            <label>
              Max results
              <input name="query-max" type="number" min={1} value={maxResults} onInput={(e) => setMaxResults(e.currentTarget.value)} />
            </label>
            <label>
              From
              <input name="query-from" type="datetime-local" step={1} value={since} onInput={(e) => setSince(e.currentTarget.value)} />
            </label>
            <label>
              To
              <input name="query-to" type="datetime-local" step={1} value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
            </label>
          </div>
        )}
        <button type="submit">Run query</button>
      </form>
      {error && (
        <p role="alert" class="bad">
          {error}
        </p>
      )}
      {result && (
        <div data-testid="query-result">
          <p class="muted small" role="status">
            {result.events.length} event{result.events.length === 1 ? "" : "s"}
            {result.more ? " (more follow)" : ""}
          </p>
          <div class="events">
            {result.events.map((ev) => (
              <EventItem key={ev.event_id} event={ev} showStream />
            ))}
          </div>
        </div>
      )}
    </section>
  );
}
