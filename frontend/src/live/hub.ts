// One WebSocket to the hub carrying many calls; on every (re)connection it first
// authenticates (an `auth` frame, answered by an ack), then resubscribes every live
// subscription from just after the last event it saw. Reconnects with backoff, except
// when the server refuses the credentials (close 4401).
import type { Credentials } from "../auth/credentials";
import { authFrame } from "../auth/credentials";
import { Cursor, type Scope, type Start } from "./cursor";

/** `refused`: the server closed with 4401 (wrong or missing credentials); no reconnect. */
export type ConnectionState = "connecting" | "authenticating" | "connected" | "reconnecting" | "refused";

/** The hub's close code for missing or wrong credentials. */
export const UNAUTHENTICATED = 4401;

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
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
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
  /** The credentials for the `auth` frame, read at each connection; null sends none
   * (a server with auth turned off admits every connection). */
  credentials?: () => Credentials | null;
  /** The server refused the credentials (error frame and/or close 4401): why. */
  onRefused?: (message: string) => void;
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
  /** The open socket has been authenticated (or needs not be): calls may go out. */
  private ready = false;
  private authId: number | null = null;
  private refusal: string | null = null;
  private readonly subscriptions = new Set<Live>();
  private readonly byCall = new Map<number, Live>();
  state: ConnectionState = "connecting";

  constructor(private readonly options: HubOptions) {}

  start(): void {
    this.closed = false;
    this.setState("connecting");
    this.open();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.socket?.close();
    this.socket = null;
    this.ready = false;
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
      this.refusal = null;
      const credentials = this.options.credentials?.() ?? null;
      if (credentials === null) {
        this.authId = null;
        this.admitted();
        return;
      }
      // Nothing else goes out before the ack: the server refuses calls until then.
      this.authId = this.nextId++;
      this.setState("authenticating");
      this.socket?.send(JSON.stringify(authFrame(credentials, this.authId)));
    };
    socket.onmessage = (ev) => this.receive(String(ev.data));
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.ready = false;
      this.authId = null;
      this.byCall.clear();
      for (const live of this.subscriptions) live.callId = null;
      if (this.closed) return;
      if (ev?.code === UNAUTHENTICATED) {
        // Retrying the same credentials would be refused again: ask for others.
        this.setState("refused");
        this.options.onRefused?.(this.refusal ?? (ev.reason || "the server refused the credentials"));
        return;
      }
      this.setState("reconnecting");
      const delay = (this.options.backoff ?? defaultBackoff)(this.attempt++);
      this.timer = setTimeout(() => this.open(), delay);
    };
  }

  /** Authenticated: the connection is usable, every subscription (re)starts. */
  private admitted(): void {
    this.ready = true;
    this.setState("connected");
    for (const live of this.subscriptions) this.call(live);
  }

  private call(live: Live): void {
    if (!this.ready || !this.socket || this.socket.readyState !== OPEN) return; // sent once admitted
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
    let frame: {
      type?: string;
      id?: number | null;
      of?: string;
      data?: any;
      error?: { message?: string; code?: string };
    };
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === "ping") {
      this.write({ type: "pong", data: frame.data ?? null });
      return;
    }
    if (this.authId !== null && !this.ready) {
      if (frame.type === "ack" && frame.of === "auth" && frame.id === this.authId) {
        this.admitted();
      } else if (frame.type === "error" && (frame.id === this.authId || frame.error?.code === "unauthenticated")) {
        // The close 4401 follows; it reports this message.
        this.refusal = frame.error?.message ?? "the server refused the credentials";
      }
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
