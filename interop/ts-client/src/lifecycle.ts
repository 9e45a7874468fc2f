// The lifecycle through a client typed from openapi/openapi.json (openapi-typescript +
// openapi-fetch): create chronicle, acquire stream, publish with expected version,
// conflict (409 Problem), read, replay. CHRONICLE_URL names the server. Exits non-zero
// on the first mismatch; prints a JSON summary on success. CHRONICLE_KEY is the API key
// it sends as a bearer token.
import createClient from "openapi-fetch";
import type { components, paths } from "../generated/schema.js";

type Problem = components["schemas"]["Problem"];
type EventIn = components["schemas"]["EventIn"];

function check(condition: boolean, message: string, detail?: unknown): asserts condition {
  if (!condition) {
    throw new Error(`${message}${detail === undefined ? "" : `: ${JSON.stringify(detail)}`}`);
  }
}

const baseUrl = process.env.CHRONICLE_URL;
if (!baseUrl) {
  throw new Error("set CHRONICLE_URL to the server's base URL, e.g. http://127.0.0.1:8000");
}
const key = process.env.CHRONICLE_KEY;
if (!key) {
  throw new Error("set CHRONICLE_KEY to an API key, e.g. the one `chronicle serve` printed");
}
const client = createClient<paths, "application/json" | "application/problem+json">({
  baseUrl,
  headers: { Authorization: `Bearer ${key}` },
});

const chronicle = `ts-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const stream = "room1";
const path = { chronicle, stream };
const event = (n: number): EventIn => ({ type: "reading/temperature", data: { n } });

const created = await client.POST("/chronicles", { body: { name: chronicle } });
check(created.response.status === 201 && created.data !== undefined, "create", created.error);
check(created.data.name === chronicle, "created name", created.data);

const acquired = await client.PUT("/chronicles/{chronicle}/streams/{stream}", {
  params: { path },
  body: {},
});
check(acquired.response.status === 201 && acquired.data !== undefined, "acquire", acquired.error);

const first = await client.POST("/chronicles/{chronicle}/streams/{stream}/events", {
  params: { path },
  body: { events: [event(1), event(2)], expected_version: "empty" },
});
check(first.response.status === 201 && first.data !== undefined, "first publish", first.error);
const version: number = first.data.stream_version;

const second = await client.POST("/chronicles/{chronicle}/streams/{stream}/events", {
  params: { path },
  body: { events: [event(3)], expected_version: version },
});
check(second.response.status === 201 && second.data !== undefined, "second publish", second.error);
check(second.data.stream_version > version, "version advanced", second.data);

const stale = await client.POST("/chronicles/{chronicle}/streams/{stream}/events", {
  params: { path },
  body: { events: [event(4)], expected_version: version },
});
check(stale.response.status === 409 && stale.error !== undefined, "conflict", stale.data);
const problem: Problem = stale.error;
check(problem.code === "wrong_expected_version" && problem.status === 409, "problem", problem);
check(problem.details?.["expected"] === version, "problem expected", problem);
check(problem.details?.["actual"] === second.data.stream_version, "problem actual", problem);

const read = await client.GET("/chronicles/{chronicle}/streams/{stream}/events", {
  params: { path, query: { direction: "forwards", limit: 100 } },
});
check(read.response.status === 200 && read.data !== undefined, "read", read.error);
const data = read.data.events.map((e) => e.data);
check(JSON.stringify(data) === JSON.stringify([{ n: 1 }, { n: 2 }, { n: 3 }]), "read data", data);
check(read.data.next === null, "read next", read.data);

// recorded_at is int64 nanoseconds: beyond Number.MAX_SAFE_INTEGER, so JSON.parse rounds it
// (by up to 256 ns today); a 1 ms margin keeps the window around all three events.
const recorded = read.data.events.map((e) => e.recorded_at);
const margin = 1_000_000;
const replay = await client.GET("/chronicles/{chronicle}/streams/{stream}/replay", {
  params: {
    path,
    query: { start: Math.min(...recorded) - margin, end: Math.max(...recorded) + margin },
  },
});
check(replay.response.status === 200 && replay.data !== undefined, "replay", replay.error);
const ids = (page: components["schemas"]["EventPage"]) => page.events.map((e) => e.event_id);
check(JSON.stringify(ids(replay.data)) === JSON.stringify(ids(read.data)), "replay ids", replay.data);

console.log(
  JSON.stringify({
    chronicle,
    stream,
    stream_version: second.data.stream_version,
    conflict: problem.code,
    read: read.data.events.length,
    replayed: replay.data.events.length,
  }),
);
