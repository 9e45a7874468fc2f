// Typed REST calls: paths and bodies come from the generated OpenAPI types.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Chronicle = Schemas["ChronicleOut"];
export type Stream = Schemas["StreamOut"];
export type RecordedEvent = Schemas["EventOut"];
export type Problem = Schemas["Problem"];
export type ExpectedVersion = Schemas["PublishIn"]["expected_version"];

// Reads also offer CloudEvents media types; the dashboard asks for plain JSON.
export const api = createClient<paths, "application/json" | "application/problem+json">({
  baseUrl: location.origin,
  // `types` is repeated: types=a/*&types=b/?
  querySerializer: { array: { style: "form", explode: true } },
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
