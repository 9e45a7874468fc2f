import { useEffect, useState } from "preact/hooks";
import { api, describeError, type Chronicle } from "../api/client";
import { refreshTick, selectedChronicle, selectedStream } from "../state";

export function Chronicles() {
  const [items, setItems] = useState<Chronicle[]>([]);
  const [name, setName] = useState("");
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  async function load() {
    const { data, error } = await api.GET("/chronicles", { params: { query: { limit: 500 } } });
    if (error) setMessage({ ok: false, text: describeError(error) });
    else setItems(data.items);
  }

  useEffect(() => {
    void load();
  }, [refreshTick.value]);

  async function create(e: Event) {
    e.preventDefault();
    const { data, error, response } = await api.POST("/chronicles", { body: { name, attributes: {} } });
    if (error) {
      const text = response.status === 409 ? `“${name}” already exists` : describeError(error);
      setMessage({ ok: false, text });
      return;
    }
    setMessage({ ok: true, text: `Created ${data.name}` });
    setName("");
    await load();
    selectedChronicle.value = data.name;
    selectedStream.value = null;
  }

  return (
    <section class="panel" aria-labelledby="chronicles-h">
      <h2 id="chronicles-h">Chronicles</h2>
      <form onSubmit={create} class="row">
        <label class="grow">
          <span class="sr">New chronicle name</span>
          <input
            name="chronicle-name"
            placeholder="new chronicle name"
            value={name}
            required
            pattern="[A-Za-z0-9_.\-]{1,128}"
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Create</button>
      </form>
      {message && (
        <p role="status" class={message.ok ? "ok" : "bad"}>
          {message.text}
        </p>
      )}
      <ul class="list" aria-label="chronicles">
        {items.length === 0 && <li class="muted">No chronicles yet: create one above.</li>}
        {items.map((c) => (
          <li key={c.name}>
            <button
              class={selectedChronicle.value === c.name ? "link selected" : "link"}
              aria-current={selectedChronicle.value === c.name}
              onClick={() => {
                selectedChronicle.value = c.name;
                selectedStream.value = null;
              }}
            >
              {c.name}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
