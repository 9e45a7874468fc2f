import { useEffect } from "preact/hooks";
import { connection, hub, selectedChronicle, selectedStream } from "./state";
import { Chronicles } from "./views/Chronicles";
import { Events } from "./views/Events";
import { LiveTail } from "./views/LiveTail";
import { Publish } from "./views/Publish";
import { Query } from "./views/Query";
import { Streams } from "./views/Streams";
import { ThroughputChart } from "./views/Throughput";

const STATE_LABEL = { connecting: "connecting…", connected: "connected", reconnecting: "reconnecting…" };

export function App() {
  useEffect(() => {
    hub.start();
    return () => hub.close();
  }, []);
  const chronicle = selectedChronicle.value;
  const stream = selectedStream.value;

  return (
    <>
      <header class="top">
        <h1>Chronicle</h1>
        <span class={`conn ${connection.value}`} role="status" aria-live="polite" data-testid="connection">
          <span class="dot" aria-hidden="true" /> {STATE_LABEL[connection.value]}
        </span>
      </header>
      <main class="layout">
        <aside class="side">
          <Chronicles />
          <ThroughputChart />
        </aside>
        <div class="content">
          {chronicle === null ? (
            <section class="panel">
              <h2>Welcome</h2>
              <p>Create a chronicle (or pick one) on the left, then publish events, follow them live and query them.</p>
            </section>
          ) : (
            <>
              <div class="pair">
                <Publish chronicle={chronicle} />
                <LiveTail chronicle={chronicle} stream={stream} />
              </div>
              <Streams chronicle={chronicle} />
              {stream !== null && <Events chronicle={chronicle} stream={stream} />}
              <Query chronicle={chronicle} />
            </>
          )}
        </div>
      </main>
    </>
  );
}
