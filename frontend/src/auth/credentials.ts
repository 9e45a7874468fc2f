// What the dashboard signs in with, how it is kept, and how it goes on the wire.
// Pure: storage is passed in, so it is unit-tested without a browser.

/** An API key (kept for the tab's session), or a username and password (kept in memory only). */
export type Credentials =
  | { kind: "key"; key: string }
  | { kind: "password"; username: string; password: string };

/** The sessionStorage item holding the API key. */
export const STORAGE_ITEM = "chronicle.apiKey";

/** The part of the Web Storage API used here (sessionStorage in the browser). */
export interface KeyStorage {
  getItem(name: string): string | null;
  setItem(name: string, value: string): void;
  removeItem(name: string): void;
}

/**
 * The credentials to sign in with from the form's fields: the key when one is given
 * (surrounding whitespace from a paste dropped), else username and password; or a reason.
 */
export function fromForm(key: string, username: string, password: string): Credentials | string {
  const k = key.trim();
  if (k) {
    if (/\s/.test(k)) return "An API key has no spaces in it: paste it again.";
    return { kind: "key", key: k };
  }
  if (username.trim() && password) return { kind: "password", username: username.trim(), password };
  if (username.trim() || password) return "Enter both the username and the password (or an API key).";
  return "Enter an API key.";
}

/** The key kept for this session, if any; a storage that refuses (privacy modes) keeps none. */
export function loadKey(storage: KeyStorage | null): Credentials | null {
  try {
    const key = storage?.getItem(STORAGE_ITEM);
    return key ? { kind: "key", key } : null;
  } catch {
    return null;
  }
}

/** Keep an API key for the session. A password is never written to storage. */
export function keep(storage: KeyStorage | null, credentials: Credentials): void {
  try {
    if (credentials.kind === "key") storage?.setItem(STORAGE_ITEM, credentials.key);
    else storage?.removeItem(STORAGE_ITEM);
  } catch {
    // Storage refused: the credentials live in memory until the page goes away.
  }
}

export function forget(storage: KeyStorage | null): void {
  try {
    storage?.removeItem(STORAGE_ITEM);
  } catch {
    // nothing kept
  }
}

/** UTF-8, then base64 (btoa alone takes only Latin-1). */
function base64(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The REST `Authorization` header value. */
export function authorization(credentials: Credentials): string {
  return credentials.kind === "key"
    ? `Bearer ${credentials.key}`
    : `Basic ${base64(`${credentials.username}:${credentials.password}`)}`;
}

/** The hub's first frame on a connection. */
export function authFrame(credentials: Credentials, id: number): Record<string, unknown> {
  return credentials.kind === "key"
    ? { type: "auth", id, key: credentials.key }
    : { type: "auth", id, username: credentials.username, password: credentials.password };
}

