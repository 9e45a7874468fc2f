import { useEffect, useRef, useState } from "preact/hooks";
import type { HubEvent } from "../live/hub";
import { RingBuffer } from "../live/ring";
import { hub, throughput } from "../state";
import { EventItem } from "./EventView";

const KEEP = 200;

/** Live events over the hub; the DOM is updated at most once per animation frame. */
export function LiveTail({ chronicle, stream }: { chronicle: string; stream: string | null }) {
  const [scope, setScope] = useState<"stream" | "chronicle">(stream ? "stream" : "chronicle");
  const [startMode, setStartMode] = useState<"end" | "start" | "version">("end");
  const [from, setFrom] = useState("0");
  const [running, setRunning] = useState(false);
  const stopRef = useRef<(() => void) | null>(null);
  const [status, setStatus] = useState("stopped");
  const [shown, setShown] = useState<HubEvent[]>([]);
  const buffer = useRef(new RingBuffer<HubEvent>(KEEP));
  const frame = useRef<number | null>(null);

  const tailing = useRef<"stream" | "chronicle" | null>(null);

  // A stream tail follows the selected stream: a new selection stops it.
  useEffect(() => {
    if (tailing.current === "stream") stopTail();
    if (!stream) setScope("chronicle");
  }, [stream]);

  // A chronicle tail stops when another chronicle is chosen or the view goes away.
  useEffect(() => () => stopTail(), [chronicle]);

  function render() {
    frame.current = null;
    setShown(buffer.current.toArray().reverse());
  }

  function stopTail() {
    stopRef.current?.();
    stopRef.current = null;
    tailing.current = null;
    setRunning(false);
    setStatus("stopped");
    if (frame.current !== null) cancelAnimationFrame(frame.current);
    frame.current = null;
  }

  function startTail(e: Event) {
    e.preventDefault();
    stopTail();
    buffer.current.clear();
    setShown([]);
    const start = startMode === "version" ? Number(from) : startMode;
    const target = scope === "stream" && stream ? { chronicle, stream } : { chronicle };
    setStatus("subscribing");
    const stop = hub.subscribe(target, start, {
      onEvent(event) {
        buffer.current.push(event);
        throughput.add(1);
        if (frame.current === null) frame.current = requestAnimationFrame(render);
      },
      onStatus: setStatus,
      onError(message) {
        setStatus(`error: ${message}`);
        stopRef.current = null;
        tailing.current = null;
        setRunning(false);
      },
    });
    stopRef.current = stop;
    tailing.current = "stream" in target ? "stream" : "chronicle";
    setRunning(true);
  }

  return (
    <section class="panel" aria-labelledby="tail-h">
      <h2 id="tail-h">Live tail</h2>
      <form class="row wrap" onSubmit={startTail}>
        <label>
          Of
          <select name="tail-scope" value={scope} onChange={(e) => setScope(e.currentTarget.value as typeof scope)}>
            {stream && <option value="stream">stream {stream}</option>}
            <option value="chronicle">chronicle {chronicle}</option>
          </select>
        </label>
        <label>
          From
          <select
            name="tail-start"
            value={startMode}
            onChange={(e) => setStartMode(e.currentTarget.value as typeof startMode)}
          >
            <option value="end">the end (new events)</option>
            <option value="start">the beginning</option>
            <option value="version">{scope === "stream" ? "version…" : "position…"}</option>
          </select>
        </label>
        {startMode === "version" && (
          <label>
            {scope === "stream" ? "Version" : "Position"}
            <input name="tail-from" type="number" min={0} value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
          </label>
        )}
        <button type="submit">{running ? "Restart" : "Start"}</button>
        <button type="button" disabled={!running} onClick={stopTail}>
          Stop
        </button>
        <span class="muted small" data-testid="tail-status" aria-live="polite">
          {status}
        </span>
      </form>
      <div class="events tail" aria-label="live events" data-testid="live-tail">
        {shown.length === 0 && <p class="muted">{running ? "Waiting for events…" : "Start a tail to follow events."}</p>}
        {shown.map((e) => (
          <EventItem key={e.event_id} event={e} showStream={scope === "chronicle"} />
        ))}
      </div>
    </section>
  );
}
