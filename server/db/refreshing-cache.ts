/**
 * A small read-through cache for lookups made on every request (sessions, memberships). An entry younger
 * than `freshMs` is answered at once; one between `freshMs` and `maxAgeMs` old is answered at once too and
 * read again in the background; an older one (or none) waits for a read. One read per key at a time:
 * callers that miss together share it. So a key in steady use never makes its callers wait, and nothing is
 * answered from a read older than `maxAgeMs` (plus the read under way).
 *
 * Invalidation wins over reads under way: `delete` and `clear` drop them (their results are not kept), and a
 * pinned entry (`pin`, e.g. "signed out") is answered until its time, never replaced by a read, and is what
 * the callers of a read it interrupted get.
 * A read that finds nothing (`null`) is not kept. At most `maxSize` entries (the oldest goes first).
 */
export type RefreshingCacheOptions = { freshMs: number; maxAgeMs: number; maxSize: number; now?: () => number };

type Entry<V> = { value: V; at: number; pinnedUntil: number };
type Read<V> = Promise<V | null>;

export class RefreshingCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly reads = new Map<string, Read<V>>();
  private readonly now: () => number;

  constructor(private readonly options: RefreshingCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  get size() {
    return this.entries.size;
  }

  get(key: string, read: () => Read<V>): Read<V> {
    const entry = this.entries.get(key);
    const now = this.now();
    if (entry) {
      if (entry.pinnedUntil) {
        if (entry.pinnedUntil > now) return Promise.resolve(entry.value);
        this.entries.delete(key);
      } else {
        const age = now - entry.at;
        if (age < this.options.freshMs) return Promise.resolve(entry.value);
        if (age < this.options.maxAgeMs) {
          // a failed background read leaves the entry to age out; the next caller past maxAgeMs reads again
          if (!this.reads.has(key)) this.start(key, read).catch(() => undefined);
          return Promise.resolve(entry.value);
        }
        this.entries.delete(key);
      }
    }
    return this.reads.get(key) ?? this.start(key, read);
  }

  /** Answers `value` for `key` for `ms`, whatever a read under way finds. */
  pin(key: string, value: V, ms: number) {
    this.reads.delete(key);
    this.entries.delete(key);
    this.entries.set(key, { value, at: this.now(), pinnedUntil: this.now() + ms });
    this.trim();
  }

  delete(key: string) {
    this.reads.delete(key);
    this.entries.delete(key);
  }

  clear() {
    this.reads.clear();
    this.entries.clear();
  }

  private start(key: string, read: () => Read<V>): Read<V> {
    const reading: Read<V> = read().then(
      (value) => {
        // dropped while it ran: not kept; its callers get the pinned value if it was pinned, else what it read
        if (this.reads.get(key) !== reading) {
          const pinned = this.entries.get(key);
          return pinned && pinned.pinnedUntil > this.now() ? pinned.value : value;
        }
        this.reads.delete(key);
        if (value === null) this.entries.delete(key);
        else {
          this.entries.delete(key);
          this.entries.set(key, { value, at: this.now(), pinnedUntil: 0 });
          this.trim();
        }
        return value;
      },
      (error: unknown) => {
        if (this.reads.get(key) === reading) this.reads.delete(key);
        throw error;
      },
    );
    this.reads.set(key, reading);
    return reading;
  }

  private trim() {
    while (this.entries.size > this.options.maxSize) this.entries.delete(this.entries.keys().next().value!);
  }
}
