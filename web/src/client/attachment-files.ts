// The bytes of attachments, for <img> and downloads. They are served on this origin only with
// the access token (members of the room only), which an <img src> cannot send: each is fetched
// with the header and shown from a blob: URL. One fetch per URL while anything shows it, kept a
// while after the last user goes (scrolling back, reopening the viewer cost nothing), then
// revoked so the memory is given back. One cache per signed-in session, emptied when it ends.

/** How long a blob no one shows is kept before it is revoked. */
const KEEP_UNUSED_MS = 60_000;
/** Answers worth asking again (rate limited, briefly unavailable), and how many times. */
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const TRIES = 3;

interface Entry {
  url: Promise<string>;
  users: number;
  revokeTimer?: ReturnType<typeof setTimeout>;
}

export class AttachmentFiles {
  private entries = new Map<string, Entry>();
  private readonly token: () => Promise<string | null>;

  constructor(token: () => Promise<string | null>) {
    this.token = token;
  }

  /**
   * A blob: URL of the file at `path` (an /attachments/… path), and a release to call once it
   * is no longer shown. A fetch that failed is not kept: the next acquire tries again.
   */
  acquire(path: string): { url: Promise<string>; release: () => void } {
    let entry = this.entries.get(path);
    if (!entry) {
      const created: Entry = { url: this.fetchBlob(path).then((blob) => URL.createObjectURL(blob)), users: 0 };
      created.url.catch(() => {
        if (this.entries.get(path) === created) this.entries.delete(path);
      });
      this.entries.set(path, created);
      entry = created;
    }
    const held = entry;
    held.users += 1;
    clearTimeout(held.revokeTimer);
    let released = false;
    return {
      url: held.url,
      release: () => {
        if (released) return;
        released = true;
        held.users -= 1;
        if (held.users > 0) return;
        held.revokeTimer = setTimeout(() => {
          if (held.users > 0 || this.entries.get(path) !== held) return;
          this.entries.delete(path);
          void held.url.then(
            (url) => URL.revokeObjectURL(url),
            () => undefined,
          );
        }, KEEP_UNUSED_MS);
      },
    };
  }

  /** Saves the file as `name`, as a link with a download attribute would (the original: not kept). */
  async download(path: string, name: string): Promise<void> {
    const url = URL.createObjectURL(await this.fetchBlob(path));
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    link.rel = 'noopener';
    document.body.append(link);
    link.click();
    link.remove();
    // The browser has taken the URL once the click is handled; a minute covers a slow start.
    setTimeout(() => URL.revokeObjectURL(url), KEEP_UNUSED_MS);
  }

  /** Revokes everything (the session ended). */
  dispose(): void {
    for (const entry of this.entries.values()) {
      clearTimeout(entry.revokeTimer);
      void entry.url.then(
        (url) => URL.revokeObjectURL(url),
        () => undefined,
      );
    }
    this.entries.clear();
  }

  private async fetchBlob(path: string): Promise<Blob> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.token();
      const response = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      if (response.ok) return response.blob();
      if (!RETRY_STATUSES.has(response.status) || attempt >= TRIES) throw new Error(`the file could not be fetched (${response.status})`);
      const wait = Number(response.headers.get('retry-after')) || attempt;
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 10) * 1000));
    }
  }
}
