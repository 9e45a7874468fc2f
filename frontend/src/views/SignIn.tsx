import { useEffect, useRef, useState } from "preact/hooks";
import { fromForm } from "../auth/credentials";
import { session, signIn } from "../auth/session";

/** Asks for an API key (or a username and password) and checks it with GET /me. */
export function SignIn({ message }: { message: string | null }) {
  const [key, setKey] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const keyField = useRef<HTMLInputElement>(null);

  useEffect(() => keyField.current?.focus(), [message]);

  async function submit(e: Event) {
    e.preventDefault();
    const credentials = fromForm(key, username, password);
    if (typeof credentials === "string") {
      setProblem(credentials);
      return;
    }
    setProblem(null);
    setBusy(true);
    await signIn(credentials);
    if (session.value.kind !== "signed-in") {
      // Refused: the message says why; the secret goes, to be pasted again.
      setKey("");
      setPassword("");
      setBusy(false);
    }
  }

  const shown = problem ?? message;
  return (
    <main class="signin">
      <section class="panel" aria-labelledby="signin-h">
        <h2 id="signin-h">Sign in</h2>
        <p class="small">
          This Chronicle server needs credentials. Paste an API key: the one <code>chronicle serve</code> printed
          on its first start, or one made for you with <code>POST /principals/&#123;name&#125;/keys</code>.
        </p>
        {shown && (
          <p role="alert" class="problem" data-testid="sign-in-error">
            {shown}
          </p>
        )}
        <form class="form" onSubmit={submit}>
          <label>
            API key
            <input
              ref={keyField}
              name="api-key"
              type="password"
              placeholder="chr_…"
              autoComplete="off"
              spellcheck={false}
              value={key}
              onInput={(e) => setKey(e.currentTarget.value)}
            />
          </label>
          <details>
            <summary class="small">Use a username and password instead</summary>
            <div class="form inset">
              <label>
                Username
                <input name="username" autoComplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
              </label>
              <label>
                Password
                <input
                  name="password"
                  type="password"
                  autoComplete="current-password"
                  value={password}
                  onInput={(e) => setPassword(e.currentTarget.value)}
                />
              </label>
            </div>
          </details>
          <button type="submit" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </form>
        <p class="muted small">
          A key is kept in this tab's session storage until you sign out or close the tab; a password only in
          memory (a reload asks again). Neither goes in the address.
        </p>
      </section>
    </main>
  );
}
