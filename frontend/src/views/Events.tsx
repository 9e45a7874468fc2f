import { useEffect, useState } from "preact/hooks";
import { api, describeError, type Problem, type RecordedEvent } from "../api/client";
import { refreshTick } from "../state";
import { EventItem } from "./EventView";

const PAGE = 20;

/** A stream's events, newest page first; "older" follows the cursor backwards. */
export function Events({ chronicle, stream }: { chronicle: string; stream: string }) {
  const [pages, setPages] = useState<(number | null)[]>([null]); // `from` of each page seen
  const [events, setEvents] = useState<RecordedEvent[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** The stream was hard-deleted (410 stream_deleted): its events are gone for good. */
  const [deleted, setDeleted] = useState<string | null>(null);
  const from = pages[pages.length - 1] ?? null;

  useEffect(() => setPages([null]), [chronicle, stream]);

  useEffect(() => {
    let current = true;
    const query = { direction: "backwards" as const, limit: PAGE, ...(from === null ? {} : { from }) };
    void api
      .GET("/chronicles/{chronicle}/streams/{stream}/events", {
        params: { path: { chronicle, stream }, query },
      })
      .then(({ data, error, response }) => {
        if (!current) return;
        if (error) {
          const gone = response.status === 410 && (error as Partial<Problem>).code === "stream_deleted";
          setDeleted(gone ? ((error as Partial<Problem>).detail ?? "") : null);
          setError(gone ? null : describeError(error));
          setEvents([]);
          setNext(null);
        } else {
          setError(null);
          setDeleted(null);
          setEvents(data.events);
          setNext(data.next ?? null);
        }
      });
    return () => {
      current = false;
    };
  }, [chronicle, stream, from, refreshTick.value]);

  return (
    <section class="panel" aria-labelledby="events-h">
      <h2 id="events-h">
        Events of {stream}
      </h2>
      <nav class="row" aria-label="event pages">
        <button disabled={pages.length === 1} onClick={() => setPages(pages.slice(0, -1))}>
          ← Newer
        </button>
        <button disabled={next === null} onClick={() => next !== null && setPages([...pages, next])}>
          Older →
        </button>
        <span class="muted small">newest first, {PAGE} per page</span>
      </nav>
      {error && <p class="bad">{error}</p>}
      {deleted !== null && (
        <div class="problem" role="alert" data-testid="stream-deleted">
          <strong>This stream was deleted for good (410 Gone).</strong>
          Its events can no longer be read and its name can never be used again in {chronicle}.
          {deleted && <p class="small">{deleted}</p>}
        </div>
      )}
      {events.length === 0 && !error && deleted === null && <p class="muted">No events.</p>}
      <div class="events" aria-label="stream events">
        {events.map((e) => (
          <EventItem key={e.event_id} event={e} />
        ))}
      </div>
    </section>
  );
}
