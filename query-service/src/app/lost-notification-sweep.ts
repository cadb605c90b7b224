import type { Logger } from '@chat/platform';

// Redis pub/sub keeps nothing: a notification published while a connection was down, or never
// published because the projector died between its commit and its publish, is gone. So every
// interval this process reads the committed revision of the rooms it has listeners for (one
// statement), and a room whose revision, as read one sweep earlier, is still ahead of every
// notification heard since gets a resync: its subscribers re-read from Postgres. Comparing
// with the previous sweep's reading leaves notifications a whole interval to arrive, so a busy
// room is not resynced just because its last publish is a few milliseconds behind its commit.
// A committed change therefore reaches subscribers within about two intervals, whatever was lost.

export interface SweptFanout {
  watchedRooms(): string[];
  heardRevision(roomId: string): number;
  resyncRoom(roomId: string, revision: number): void;
}

export type RevisionReader = (roomIds: readonly string[]) => Promise<Map<string, number>>;

const ROOMS_PER_STATEMENT = 5000;

export class LostNotificationSweep {
  private readonly fanout: SweptFanout;
  private readonly revisions: RevisionReader;
  private readonly log: Logger;
  /** Revisions committed as of the previous sweep, per watched room. */
  private previous = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(fanout: SweptFanout, revisions: RevisionReader, log: Logger) {
    this.fanout = fanout;
    this.revisions = revisions;
    this.log = log;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .catch((error: unknown) => this.log.warn('checking rooms for lost notifications failed; next interval retries', { error }))
        .finally(() => {
          this.running = undefined;
        });
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * After a Redis reconnect: every watched room whose committed revision is ahead of what was
   * heard is resynced at once, the rooms read in one statement (per 5,000) instead of each
   * subscription querying on its own. A quiet room heard nothing since it was watched, so it
   * is resynced too; its subscribers find nothing new.
   */
  resyncBehind(): void {
    void (async () => {
      const rooms = this.fanout.watchedRooms();
      for (const [room, revision] of await this.committed(rooms)) {
        if (this.fanout.heardRevision(room) < revision) this.fanout.resyncRoom(room, revision);
      }
    })().catch((error: unknown) => {
      this.log.warn('checking rooms after a Redis reconnect failed; every watched room is resynced', { error });
      for (const room of this.fanout.watchedRooms()) this.fanout.resyncRoom(room, 0);
    });
  }

  private async committed(rooms: readonly string[]): Promise<Map<string, number>> {
    const committed = new Map<string, number>();
    for (let i = 0; i < rooms.length; i += ROOMS_PER_STATEMENT) {
      for (const [room, revision] of await this.revisions(rooms.slice(i, i + ROOMS_PER_STATEMENT))) committed.set(room, revision);
    }
    return committed;
  }

  async sweep(): Promise<void> {
    const rooms = this.fanout.watchedRooms();
    const committed = await this.committed(rooms);
    let resynced = 0;
    for (const room of rooms) {
      const before = this.previous.get(room);
      if (before !== undefined && this.fanout.heardRevision(room) < before) {
        this.fanout.resyncRoom(room, before);
        resynced++;
      }
    }
    this.previous = committed;
    // A room newly watched and quiet since is resynced once too (nothing was heard of it yet):
    // cheap, and so not worth telling apart from a real loss here.
    if (resynced > 0) this.log.debug('resynced rooms whose notifications may have been lost', { rooms: resynced });
  }
}
