// Where a subscription resumes after a reconnect: just after the last event it saw.

export type Scope = { chronicle: string; stream?: string };
export type Start = "start" | "end" | number;

export interface SeenEvent {
  version: number;
  position: number;
}

/** Tracks the resume point of one subscription (a version for a stream, else a position). */
export class Cursor {
  private next: number | null = null;

  constructor(
    readonly scope: Scope,
    private readonly initial: Start,
  ) {}

  /** The `start` to send: the initial one until the server has told us where we are. */
  get start(): Start {
    return this.next ?? this.initial;
  }

  /** The server's {"kind": "subscribed", "from"} or {"kind": "caught_up", "next"}. */
  at(next: number): void {
    if (this.next === null || next > this.next) this.next = next;
  }

  seen(event: SeenEvent): void {
    this.at((this.scope.stream !== undefined ? event.version : event.position) + 1);
  }
}
