import { describe, expect, it } from "vitest";
import { RingBuffer } from "./ring";

describe("RingBuffer", () => {
  it("keeps items in order below capacity", () => {
    const ring = new RingBuffer<number>(3);
    ring.push(1);
    ring.push(2);
    expect(ring.toArray()).toEqual([1, 2]);
    expect(ring.size).toBe(2);
  });

  it("drops the oldest when full", () => {
    const ring = new RingBuffer<number>(3);
    for (let i = 1; i <= 7; i++) ring.push(i);
    expect(ring.toArray()).toEqual([5, 6, 7]);
    expect(ring.size).toBe(3);
  });

  it("clears", () => {
    const ring = new RingBuffer<string>(2);
    ring.push("a");
    ring.clear();
    ring.push("b");
    expect(ring.toArray()).toEqual(["b"]);
  });

  it("refuses a useless capacity", () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
  });
});
