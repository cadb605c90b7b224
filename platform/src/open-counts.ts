// How many of something each key holds open at once (connections or sockets per client
// address), for caps that refuse the next one: taken when it opens, given back when it closes.

export class OpenCounts {
  private readonly open = new Map<string, number>();

  /** Takes a place for `key` unless it already holds `cap`; true when taken. */
  take(key: string, cap: number): boolean {
    const count = this.open.get(key) ?? 0;
    if (count >= cap) return false;
    this.open.set(key, count + 1);
    return true;
  }

  /** Gives back a place `take` gave `key`. */
  release(key: string): void {
    const left = (this.open.get(key) ?? 1) - 1;
    if (left > 0) this.open.set(key, left);
    else this.open.delete(key);
  }
}
