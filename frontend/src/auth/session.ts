// Who the dashboard acts as: asks GET /me, keeps an accepted key in sessionStorage, and
// signs out (back to the sign-in form) when the server stops accepting it.
import { signal } from "@preact/signals";
import { api, auth, describeError, type WhoAmI } from "../api/client";
import { authorization, forget, keep, loadKey, type Credentials, type KeyStorage } from "./credentials";

export type Session =
  | { kind: "checking" }
  /** The sign-in form, with why it is shown again (a refused key), if it is. */
  | { kind: "signed-out"; message: string | null }
  /** `me.auth_enabled` false: the server lets everyone in, no sign-in needed. */
  | { kind: "signed-in"; me: WhoAmI }
  /** GET /me did not answer: nothing to decide on yet. */
  | { kind: "unreachable"; message: string };

export const session = signal<Session>({ kind: "checking" });

function storage(): KeyStorage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

function what(credentials: Credentials): string {
  return credentials.kind === "key" ? "this key" : "this username and password";
}

/** Ask the server who `credentials` are; on success they become the dashboard's. */
async function check(credentials: Credentials | null, kept: boolean): Promise<void> {
  const { data, error, response } = await api.GET(
    "/me",
    credentials ? { headers: { Authorization: authorization(credentials) } } : {},
  );
  if (data) {
    // With auth off the server admits everyone: send nothing, ask nothing.
    auth.credentials = data.auth_enabled ? credentials : null;
    if (credentials && data.auth_enabled) keep(storage(), credentials);
    session.value = { kind: "signed-in", me: data };
  } else if (response.status === 401) {
    if (kept) forget(storage());
    const message = credentials
      ? `The server did not accept ${kept ? "the key kept for this session" : what(credentials)}: ${describeError(error)}`
      : null;
    session.value = { kind: "signed-out", message };
  } else if (kept || credentials === null) {
    session.value = { kind: "unreachable", message: describeError(error) };
  } else {
    session.value = { kind: "signed-out", message: describeError(error) };
  }
}

/** On load: the key kept for this session, if any, else find out whether one is needed. */
export async function resume(): Promise<void> {
  session.value = { kind: "checking" };
  const kept = loadKey(storage());
  await check(kept, kept !== null);
}

export async function signIn(credentials: Credentials): Promise<void> {
  await check(credentials, false);
}

/** Forget the credentials and show the sign-in form (with why, when the server refused them). */
export function signOut(message: string | null = null): void {
  auth.credentials = null;
  forget(storage());
  session.value = { kind: "signed-out", message };
}

/** The server stopped accepting the credentials (a REST 401, a hub close 4401). */
export function refused(message: string): void {
  if (session.value.kind !== "signed-in") return;
  signOut(`Signed out: the server no longer accepts the credentials: ${message}. Sign in again.`);
}

auth.onRefused = refused;
