import { describe, expect, it, vi } from "vitest";
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
  drop() {
    this.readyState = 3;
    this.onclose?.({});
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
      expect(states).toEqual(["connected", "reconnecting"]);
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
