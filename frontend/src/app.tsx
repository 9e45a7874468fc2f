import { useEffect } from "preact/hooks";
import { resume, session, signOut } from "./auth/session";
import { connection, hub, selectedChronicle, selectedStream } from "./state";
import { Chronicles } from "./views/Chronicles";
import { Events } from "./views/Events";
import { LiveTail } from "./views/LiveTail";
import { Publish } from "./views/Publish";
import { Query } from "./views/Query";
import { SignIn } from "./views/SignIn";
import { Streams } from "./views/Streams";
import { ThroughputChart } from "./views/Throughput";

const STATE_LABEL = {
  connecting: "connecting…",
  authenticating: "authenticating…",
  connected: "connected",
  reconnecting: "reconnecting…",
  refused: "refused",
};

export function App() {
  useEffect(() => {
    void resume();
  }, []);
  const current = session.value;
  const signedIn = current.kind === "signed-in";

  // The hub runs while signed in; signing out closes it and forgets the selection.
  useEffect(() => {
    if (!signedIn) {
      selectedChronicle.value = null;
      selectedStream.value = null;
      return;
    }
    hub.start();
    return () => hub.close();
  }, [signedIn]);

  return (
    <>
      <header class="top">
        <h1>Chronicle</h1>
        {signedIn && (
          <div class="who">
            <span class={`conn ${connection.value}`} role="status" aria-live="polite" data-testid="connection">
              <span class="dot" aria-hidden="true" /> {STATE_LABEL[connection.value]}
            </span>
            {current.me.auth_enabled ? (
              <>
                <span data-testid="principal">
                  signed in as <strong>{current.me.principal}</strong>
                  {current.me.server_admin ? " (server admin)" : ""}
                </span>
                <button type="button" class="secondary" onClick={() => signOut()}>
                  Sign out
                </button>
              </>
            ) : (
              <span class="muted-light" data-testid="principal" title="CHRONICLE_AUTH_ENABLED=false">
                auth off
              </span>
            )}
          </div>
        )}
      </header>
      {current.kind === "checking" && (
        <main class="signin">
          <p class="muted" role="status">
            Asking the server who you are…
          </p>
        </main>
      )}
      {current.kind === "unreachable" && (
        <main class="signin">
          <section class="panel">
            <p role="alert" class="problem">
              {current.message}
            </p>
            <button type="button" onClick={() => void resume()}>
              Try again
            </button>
          </section>
        </main>
      )}
      {current.kind === "signed-out" && <SignIn message={current.message} />}
      {signedIn && <Dashboard />}
    </>
  );
}

function Dashboard() {
  const chronicle = selectedChronicle.value;
  const stream = selectedStream.value;
  return (
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
  );
}
