import { describe, expect, it, vi } from "vitest";
import type { Credentials } from "../auth/credentials";
import { Hub, type HubEvent, type Socket } from "./hub";
import { Throughput } from "./throughput";

class FakeSocket implements Socket {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  sent: any[] = [];
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.drop();
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  drop(code = 1006, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  server(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  calls() {
    return this.sent.filter((f) => f.type === "call");
  }
}

function event(version: number, position: number): HubEvent {
  return {
    event_id: `e${position}`,
    chronicle: "c",
    stream: "s",
    version,
    position,
    type: "t",
    data: {},
    content_type: "application/json",
    metadata: {},
    recorded_at: 0,
  };
}

function setup() {
  const sockets: FakeSocket[] = [];
  const states: string[] = [];
  const hub = new Hub({
    url: "ws://test/ws",
    connect: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    backoff: () => 10,
    onState: (s) => states.push(s),
  });
  return { hub, sockets, states };
}

describe("Hub", () => {
  it("subscribes once open and answers pings", () => {
    const { hub, sockets } = setup();
    hub.start();
    const got: HubEvent[] = [];
    hub.subscribe({ chronicle: "c", stream: "s" }, "end", { onEvent: (e) => got.push(e) });
    const socket = sockets[0]!;
    expect(socket.sent).toEqual([]);
    socket.open();
    const [call] = socket.calls();
    expect(call).toMatchObject({ method: "subscribe", params: { chronicle: "c", stream: "s", start: "end" } });
    socket.server({ type: "data", id: call.id, data: { kind: "event", event: event(0, 7) } });
    expect(got.map((e) => e.version)).toEqual([0]);
    socket.server({ type: "ping", data: 3 });
    expect(socket.sent.at(-1)).toEqual({ type: "pong", data: 3 });
  });

  it("reconnects and resubscribes after the last event seen", () => {
    vi.useFakeTimers();
    try {
      const { hub, sockets, states } = setup();
      hub.start();
      hub.subscribe({ chronicle: "c", stream: "s" }, "end", { onEvent: () => {} });
      hub.subscribe({ chronicle: "c" }, "start", { onEvent: () => {} });
      const first = sockets[0]!;
      first.open();
      const [streamCall, chronicleCall] = first.calls();
      first.server({ type: "data", id: streamCall.id, data: { kind: "subscribed", from: 4 } });
      first.server({ type: "data", id: streamCall.id, data: { kind: "event", event: event(4, 40) } });
      first.server({ type: "data", id: streamCall.id, data: { kind: "event", event: event(5, 41) } });
      first.server({ type: "data", id: chronicleCall.id, data: { kind: "event", event: event(5, 41) } });
      first.drop();
      expect(states).toEqual(["connecting", "connected", "reconnecting"]);
      expect(sockets).toHaveLength(1);
      vi.advanceTimersByTime(10);
      const second = sockets[1]!;
      second.open();
      const params = second.calls().map((c) => c.params);
      expect(params).toEqual([
        { chronicle: "c", stream: "s", start: 6 },
        { chronicle: "c", start: 42 },
      ]);
      expect(states.at(-1)).toBe("connected");
    } finally {
      vi.useRealTimers();
    }
  });

  it("a subscription that was never told where it is resubscribes as asked", () => {
    vi.useFakeTimers();
    try {
      const { hub, sockets } = setup();
      hub.start();
      hub.subscribe({ chronicle: "c" }, "end", { onEvent: () => {} });
      sockets[0]!.drop();
      vi.advanceTimersByTime(10);
      sockets[1]!.open();
      expect(sockets[1]!.calls()[0].params).toEqual({ chronicle: "c", start: "end" });
    } finally {
      vi.useRealTimers();
    }
  });

  it("stops a subscription and forgets it", () => {
    const { hub, sockets } = setup();
    hub.start();
    const stop = hub.subscribe({ chronicle: "c" }, "end", { onEvent: () => {} });
    const socket = sockets[0]!;
    socket.open();
    const [call] = socket.calls();
    stop();
    expect(socket.sent.at(-1)).toEqual({ type: "send", id: call.id, data: { stop: true } });
  });

  it("reports an error frame and drops the subscription", () => {
    const { hub, sockets } = setup();
    hub.start();
    const errors: string[] = [];
    hub.subscribe({ chronicle: "nope" }, "end", { onEvent: () => {}, onError: (m) => errors.push(m) });
    const socket = sockets[0]!;
    socket.open();
    const [call] = socket.calls();
    socket.server({ type: "error", id: call.id, error: { code: "chronicle_not_found", message: "no such chronicle" } });
    expect(errors).toEqual(["no such chronicle (chronicle_not_found)"]);
  });
});

const KEY = "chr_0123456789abcdef_" + "k".repeat(43);

function authed(credentials: () => Credentials | null = () => ({ kind: "key", key: KEY })) {
  const sockets: FakeSocket[] = [];
  const states: string[] = [];
  const refusals: string[] = [];
  const hub = new Hub({
    url: "ws://test/ws",
    connect: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    backoff: () => 10,
    onState: (s) => states.push(s),
    credentials,
    onRefused: (m) => refusals.push(m),
  });
  return { hub, sockets, states, refusals };
}

describe("Hub authentication", () => {
  it("sends the auth frame first and nothing else until it is acked", () => {
    const { hub, sockets, states } = authed();
    hub.start();
    hub.subscribe({ chronicle: "c" }, "end", { onEvent: () => {} });
    const socket = sockets[0]!;
    socket.open();
    expect(socket.sent).toEqual([{ type: "auth", id: expect.any(Number), key: KEY }]);
    expect(states.at(-1)).toBe("authenticating");
    // A tail started while authenticating waits too; pings are answered meanwhile.
    hub.subscribe({ chronicle: "d" }, "start", { onEvent: () => {} });
    socket.server({ type: "ping", data: 1 });
    expect(socket.calls()).toEqual([]);
    expect(socket.sent.at(-1)).toEqual({ type: "pong", data: 1 });
    socket.server({ type: "ack", id: socket.sent[0].id, of: "auth", principal: "admin" });
    expect(states.at(-1)).toBe("connected");
    expect(socket.calls().map((c) => c.params.chronicle)).toEqual(["c", "d"]);
  });

  it("re-authenticates on every reconnection before resubscribing after the last event", () => {
    vi.useFakeTimers();
    try {
      const { hub, sockets } = authed();
      hub.start();
      hub.subscribe({ chronicle: "c", stream: "s" }, "end", { onEvent: () => {} });
      const first = sockets[0]!;
      first.open();
      first.server({ type: "ack", id: first.sent[0].id, of: "auth", principal: "admin" });
      const [call] = first.calls();
      first.server({ type: "data", id: call.id, data: { kind: "event", event: event(3, 30) } });
      first.drop(1012, "service restart");
      vi.advanceTimersByTime(10);
      const second = sockets[1]!;
      second.open();
      expect(second.sent.map((f) => f.type)).toEqual(["auth"]);
      second.server({ type: "ack", id: second.sent[0].id, of: "auth", principal: "admin" });
      expect(second.sent.map((f) => f.type)).toEqual(["auth", "call"]);
      expect(second.calls()[0].params).toEqual({ chronicle: "c", stream: "s", start: 4 });
    } finally {
      vi.useRealTimers();
    }
  });

  it("reads the credentials at each connection", () => {
    vi.useFakeTimers();
    try {
      let key = KEY;
      const { hub, sockets } = authed(() => ({ kind: "key", key }));
      hub.start();
      sockets[0]!.open();
      key = KEY.replace("0123", "4567");
      sockets[0]!.drop();
      vi.advanceTimersByTime(10);
      sockets[1]!.open();
      expect(sockets[1]!.sent[0].key).toBe(key);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a refused key is reported with the server's reason and not retried", () => {
    vi.useFakeTimers();
    try {
      const { hub, sockets, states, refusals } = authed();
      hub.start();
      hub.subscribe({ chronicle: "c" }, "end", { onEvent: () => {} });
      const socket = sockets[0]!;
      socket.open();
      const message = "API key 0123456789abcdef is not valid: check it was copied whole";
      socket.server({ type: "error", id: socket.sent[0].id, error: { code: "unauthenticated", message } });
      expect(refusals).toEqual([]); // the close follows
      socket.drop(4401, message);
      expect(refusals).toEqual([message]);
      expect(states.at(-1)).toBe("refused");
      vi.advanceTimersByTime(60_000);
      expect(sockets).toHaveLength(1);
      expect(socket.calls()).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a 4401 close without an error frame (no credentials in time) reports its reason", () => {
    const { hub, sockets, refusals } = authed(() => null);
    hub.start();
    sockets[0]!.open();
    sockets[0]!.drop(4401, "no credentials within 10s: send an auth frame first");
    expect(refusals).toEqual(["no credentials within 10s: send an auth frame first"]);
  });

  it("without credentials (auth off) calls go out at once", () => {
    const { hub, sockets } = authed(() => null);
    hub.start();
    hub.subscribe({ chronicle: "c" }, "end", { onEvent: () => {} });
    sockets[0]!.open();
    expect(sockets[0]!.sent.map((f) => f.type)).toEqual(["call"]);
  });

  it("closing it forgets the connection; starting again authenticates anew", () => {
    const { hub, sockets, refusals } = authed();
    hub.start();
    sockets[0]!.open();
    hub.close();
    expect(refusals).toEqual([]);
    hub.start();
    sockets[1]!.open();
    expect(sockets[1]!.sent.map((f) => f.type)).toEqual(["auth"]);
  });
});

describe("Throughput", () => {
  it("counts per second over a sliding window", () => {
    const t = new Throughput(3, 10_000);
    t.add(2, 10_100);
    t.add(1, 11_500);
    expect(t.series(11_900)).toEqual([[9, 10, 11], [0, 2, 1]]);
    expect(t.series(13_000)).toEqual([[11, 12, 13], [1, 0, 0]]);
    expect(t.series(60_000)[1]).toEqual([0, 0, 0]);
  });
});
