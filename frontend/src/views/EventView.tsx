import { formatNs } from "../api/client";

export interface ShownEvent {
  event_id: string;
  stream: string;
  version: number;
  position: number;
  type: string;
  data?: unknown;
  data_base64?: string | null;
  content_type: string;
  metadata: Record<string, unknown>;
  recorded_at: number;
}

/** JSON pretty-printed; binary as its size and content type. */
export function Payload({ event }: { event: ShownEvent }) {
  if (event.data_base64 !== null && event.data_base64 !== undefined) {
    const b = event.data_base64;
    const bytes = Math.floor((b.length * 3) / 4) - (b.endsWith("==") ? 2 : b.endsWith("=") ? 1 : 0);
    return (
      <p class="binary">
        binary: {bytes} bytes, {event.content_type}
      </p>
    );
  }
  return <pre class="json">{JSON.stringify(event.data, null, 2)}</pre>;
}

export function EventItem({ event, showStream }: { event: ShownEvent; showStream?: boolean }) {
  const hasMeta = Object.keys(event.metadata ?? {}).length > 0;
  return (
    <article class="event" data-type={event.type}>
      <header>
        <strong>#{event.version}</strong>
        {showStream && <span class="muted"> {event.stream}</span>}
        <code class="type">{event.type}</code>
        <span class="muted small">
          pos {event.position} · {formatNs(event.recorded_at)}
        </span>
      </header>
      <Payload event={event} />
      {hasMeta && (
        <details>
          <summary>metadata</summary>
          <pre class="json">{JSON.stringify(event.metadata, null, 2)}</pre>
        </details>
      )}
    </article>
  );
}
