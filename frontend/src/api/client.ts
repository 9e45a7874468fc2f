// Typed REST calls: paths and bodies come from the generated OpenAPI types.
import createClient from "openapi-fetch";
import { authorization, type Credentials } from "../auth/credentials";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Chronicle = Schemas["ChronicleOut"];
export type Stream = Schemas["StreamOut"];
export type RecordedEvent = Schemas["EventOut"];
export type Problem = Schemas["Problem"];
export type ExpectedVersion = Schemas["PublishIn"]["expected_version"];
export type WhoAmI = Schemas["WhoAmI"];

/** The signed-in credentials (sent with every call) and who hears when they stop working. */
export const auth: { credentials: Credentials | null; onRefused: ((message: string) => void) | null } = {
  credentials: null,
  onRefused: null,
};

// Reads also offer CloudEvents media types; the dashboard asks for plain JSON.
export const api = createClient<paths, "application/json" | "application/problem+json">({
  baseUrl: location.origin,
  // `types` is repeated: types=a/*&types=b/?
  querySerializer: { array: { style: "form", explode: true } },
  // Credentials go in our own Authorization header only: no cookies, and a 401's
  // `WWW-Authenticate: Basic` never makes the browser show its own login dialog (with
  // "same-origin", Chromium raises an auth challenge for a lone Basic header).
  credentials: "omit",
});

// Every call carries the signed-in credentials, unless it brings its own (the sign-in check).
// A 401 to them means they stopped working (key revoked, principal deleted): sign out.
api.use({
  onRequest({ request }) {
    if (auth.credentials && !request.headers.has("Authorization"))
      request.headers.set("Authorization", authorization(auth.credentials));
    return request;
  },
  async onResponse({ request, response }) {
    const sent = request.headers.get("Authorization");
    if (response.status === 401 && auth.credentials && sent === authorization(auth.credentials)) {
      const problem: unknown = await response
        .clone()
        .json()
        .catch(() => null);
      auth.onRefused?.(describeError(problem ?? "401 Unauthorized"));
    }
    return response;
  },
});

// A network failure (server down, restarting) becomes a problem answer like any other,
// so every view shows it instead of leaving an unhandled rejection.
api.use({
  onError({ error }) {
    const problem = {
      type: "about:blank",
      title: "Server unreachable",
      status: 503,
      detail: `the server did not answer (${String(error)})`,
      code: "unreachable",
      details: {},
    };
    return new Response(JSON.stringify(problem), {
      status: 503,
      headers: { "Content-Type": "application/problem+json" },
    });
  },
});

/** A one-line description of a failed call: the problem's detail, or what we know. */
export function describeError(error: unknown): string {
  if (error && typeof error === "object") {
    const p = error as Partial<Problem>;
    if (p.detail) return p.code ? `${p.detail} (${p.code})` : p.detail;
    if (p.title) return p.title;
  }
  return String(error);
}

/** Nanoseconds since the epoch as a local ISO-like time (millisecond precision). */
export function formatNs(ns: number | null | undefined): string {
  if (ns === null || ns === undefined) return "—";
  const d = new Date(ns / 1e6);
  return d.toISOString().replace("T", " ").replace("Z", "");
}
