import { useEffect, useState } from "preact/hooks";
import { api, describeError, formatNs, type Stream } from "../api/client";
import { refreshTick, selectedChronicle, selectedStream } from "../state";

export function Streams({ chronicle }: { chronicle: string }) {
  const [items, setItems] = useState<Stream[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    void api
      .GET("/chronicles/{chronicle}/streams", { params: { path: { chronicle }, query: { limit: 1000 } } })
      .then(({ data, error }) => {
        if (!current) return;
        if (error) setError(describeError(error));
        else {
          setError(null);
          setItems(data.items);
        }
      });
    return () => {
      current = false;
    };
  }, [chronicle, refreshTick.value]);

  return (
    <section class="panel" aria-labelledby="streams-h">
      <div class="row spread">
        <h2 id="streams-h">Streams of {chronicle}</h2>
        <button type="button" class="secondary" onClick={() => (refreshTick.value += 1)}>
          Refresh
        </button>
      </div>
      {error && <p class="bad">{error}</p>}
      {items.length === 0 ? (
        <p class="muted">No streams yet: publish an event to create one.</p>
      ) : (
        <div class="scroll">
          <table aria-label="streams">
            <thead>
              <tr>
                <th>stream</th>
                <th class="num">version</th>
                <th class="num">events</th>
                <th>first</th>
                <th>last</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.name} class={selectedStream.value === s.name ? "selected" : ""}>
                  <td>
                    <button
                      class="link"
                      aria-current={selectedChronicle.value === chronicle && selectedStream.value === s.name}
                      onClick={() => (selectedStream.value = s.name)}
                    >
                      {s.name}
                    </button>
                  </td>
                  <td class="num">{s.version}</td>
                  <td class="num">{s.event_count}</td>
                  <td>{formatNs(s.first_recorded_at)}</td>
                  <td>{formatNs(s.last_recorded_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
