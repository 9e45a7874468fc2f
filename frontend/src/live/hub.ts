// One WebSocket to the hub carrying many calls; reconnects with backoff and resubscribes
// every live subscription from just after the last event it saw.
import { Cursor, type Scope, type Start } from "./cursor";

export type ConnectionState = "connecting" | "connected" | "reconnecting";

export interface HubEvent {
  event_id: string;
  chronicle: string;
  stream: string;
  version: number;
  position: number;
  type: string;
  data: unknown;
  data_base64?: string | null;
  content_type: string;
  metadata: Record<string, unknown>;
  recorded_at: number;
}

export interface SubscriptionHandlers {
  onEvent(event: HubEvent): void;
  onError?(message: string): void;
  onStatus?(status: string): void;
}

export interface Socket {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string): void;
  close(): void;
}

export interface HubOptions {
  url: string;
  connect?: (url: string) => Socket;
  /** Delay before reconnect attempt n (0-based), milliseconds. */
  backoff?: (attempt: number) => number;
  onState?: (state: ConnectionState) => void;
}

const OPEN = 1;

interface Live {
  cursor: Cursor;
  types?: string[];
  handlers: SubscriptionHandlers;
  callId: number | null;
}

export function defaultBackoff(attempt: number): number {
  return Math.min(250 * 2 ** attempt, 5000);
}

export class Hub {
  private socket: Socket | null = null;
  private nextId = 1;
  private attempt = 0;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly subscriptions = new Set<Live>();
  private readonly byCall = new Map<number, Live>();
  state: ConnectionState = "connecting";

  constructor(private readonly options: HubOptions) {}

  start(): void {
    this.closed = false;
    this.open();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.socket?.close();
    this.socket = null;
  }

  /** Catch up from `start` then follow; returns a function that stops it. */
  subscribe(scope: Scope, start: Start, handlers: SubscriptionHandlers, types?: string[]): () => void {
    const live: Live = { cursor: new Cursor(scope, start), handlers, callId: null, types };
    this.subscriptions.add(live);
    this.call(live);
    return () => {
      this.subscriptions.delete(live);
      if (live.callId !== null) {
        this.byCall.delete(live.callId);
        this.write({ type: "send", id: live.callId, data: { stop: true } });
      }
    };
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    this.options.onState?.(state);
  }

  private open(): void {
    const connect = this.options.connect ?? ((url: string) => new WebSocket(url) as unknown as Socket);
    const socket = connect(this.options.url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.setState("connected");
      for (const live of this.subscriptions) this.call(live);
    };
    socket.onmessage = (ev) => this.receive(String(ev.data));
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.byCall.clear();
      for (const live of this.subscriptions) live.callId = null;
      if (this.closed) return;
      this.setState("reconnecting");
      const delay = (this.options.backoff ?? defaultBackoff)(this.attempt++);
      this.timer = setTimeout(() => this.open(), delay);
    };
  }

  private call(live: Live): void {
    if (!this.socket || this.socket.readyState !== OPEN) return; // sent on (re)open
    const id = this.nextId++;
    live.callId = id;
    this.byCall.set(id, live);
    const params: Record<string, unknown> = { chronicle: live.cursor.scope.chronicle, start: live.cursor.start };
    if (live.cursor.scope.stream !== undefined) params.stream = live.cursor.scope.stream;
    if (live.types && live.types.length > 0) params.types = live.types;
    this.write({ type: "call", id, method: "subscribe", params });
  }

  private write(frame: unknown): void {
    if (this.socket && this.socket.readyState === OPEN) this.socket.send(JSON.stringify(frame));
  }

  private receive(text: string): void {
    let frame: { type?: string; id?: number; data?: any; error?: { message?: string; code?: string } };
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === "ping") {
      this.write({ type: "pong", data: frame.data ?? null });
      return;
    }
    const live = typeof frame.id === "number" ? this.byCall.get(frame.id) : undefined;
    if (!live) return;
    if (frame.type === "data") {
      const data = frame.data ?? {};
      if (data.kind === "event") {
        live.cursor.seen(data.event);
        live.handlers.onEvent(data.event as HubEvent);
      } else if (data.kind === "subscribed") {
        live.cursor.at(data.from);
        live.handlers.onStatus?.(`subscribed from ${data.from}`);
      } else if (data.kind === "caught_up") {
        live.cursor.at(data.next);
        live.handlers.onStatus?.("live");
      }
    } else if (frame.type === "error") {
      this.byCall.delete(frame.id as number);
      this.subscriptions.delete(live);
      live.handlers.onError?.(`${frame.error?.message ?? "error"} (${frame.error?.code ?? "?"})`);
    } else if (frame.type === "end") {
      this.byCall.delete(frame.id as number);
      // The server ends subscriptions on shutdown: the reconnect resubscribes them.
    }
  }
}
