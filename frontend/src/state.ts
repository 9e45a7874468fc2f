// Shared dashboard state: the selection, the hub connection and the throughput counter.
import { signal } from "@preact/signals";
import { auth } from "./api/client";
import { refused } from "./auth/session";
import { Hub, type ConnectionState } from "./live/hub";
import { Throughput } from "./live/throughput";

export const selectedChronicle = signal<string | null>(null);
export const selectedStream = signal<string | null>(null);
/** Bumped after a publish so lists re-read. */
export const refreshTick = signal(0);

export const connection = signal<ConnectionState>("connecting");
export const throughput = new Throughput(60);

const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
export const hub = new Hub({
  url: wsUrl,
  onState: (s) => (connection.value = s),
  credentials: () => auth.credentials,
  onRefused: refused,
});
