import { describe, expect, it } from "vitest";
import { STORAGE_ITEM, authFrame, authorization, forget, fromForm, keep, loadKey, type KeyStorage } from "./credentials";

const KEY = "chr_0123456789abcdef_" + "A-_z".repeat(10) + "xyz";

class MemoryStorage implements KeyStorage {
  items = new Map<string, string>();
  getItem(name: string) {
    return this.items.get(name) ?? null;
  }
  setItem(name: string, value: string) {
    this.items.set(name, value);
  }
  removeItem(name: string) {
    this.items.delete(name);
  }
}

const refusing: KeyStorage = {
  getItem() {
    throw new Error("SecurityError");
  },
  setItem() {
    throw new Error("QuotaExceededError");
  },
  removeItem() {
    throw new Error("SecurityError");
  },
};

describe("fromForm", () => {
  it("takes the key, trimmed of what a paste brings along", () => {
    expect(fromForm(`  ${KEY}\n`, "", "")).toEqual({ kind: "key", key: KEY });
  });

  it("prefers the key over a username and password", () => {
    expect(fromForm(KEY, "ann", "pw")).toEqual({ kind: "key", key: KEY });
  });

  it("takes a username and password when there is no key", () => {
    expect(fromForm("", " ann ", "correct horse")).toEqual({ kind: "password", username: "ann", password: "correct horse" });
  });

  it("says what is missing", () => {
    expect(fromForm("", "", "")).toBe("Enter an API key.");
    expect(fromForm(" ", "ann", "")).toMatch(/both the username and the password/);
    expect(fromForm("chr_ab cd", "", "")).toMatch(/no spaces/);
  });
});

describe("key storage", () => {
  it("keeps a key, loads it back and forgets it", () => {
    const storage = new MemoryStorage();
    expect(loadKey(storage)).toBeNull();
    keep(storage, { kind: "key", key: KEY });
    expect(storage.items.get(STORAGE_ITEM)).toBe(KEY);
    expect(loadKey(storage)).toEqual({ kind: "key", key: KEY });
    forget(storage);
    expect(loadKey(storage)).toBeNull();
  });

  it("never writes a password, and drops a key kept before", () => {
    const storage = new MemoryStorage();
    keep(storage, { kind: "key", key: KEY });
    keep(storage, { kind: "password", username: "ann", password: "secret" });
    expect([...storage.items.values()]).toEqual([]);
  });

  it("a storage that refuses keeps nothing and throws nothing", () => {
    expect(() => keep(refusing, { kind: "key", key: KEY })).not.toThrow();
    expect(loadKey(refusing)).toBeNull();
    expect(() => forget(refusing)).not.toThrow();
    expect(loadKey(null)).toBeNull();
  });
});

describe("on the wire", () => {
  it("a key is a bearer token, and the hub's auth frame", () => {
    expect(authorization({ kind: "key", key: KEY })).toBe(`Bearer ${KEY}`);
    expect(authFrame({ kind: "key", key: KEY }, 1)).toEqual({ type: "auth", id: 1, key: KEY });
  });

  it("a username and password are HTTP Basic in UTF-8", () => {
    expect(authorization({ kind: "password", username: "ann", password: "correct horse" })).toBe(
      "Basic YW5uOmNvcnJlY3QgaG9yc2U=",
    );
    expect(authorization({ kind: "password", username: "zoë", password: "pässwörd" })).toBe(
      "Basic em/Dqzpww6Rzc3fDtnJk", // not Latin-1,
    );
    expect(authFrame({ kind: "password", username: "ann", password: "pw" }, 2)).toEqual({
      type: "auth",
      id: 2,
      username: "ann",
      password: "pw",
    });
  });
});
