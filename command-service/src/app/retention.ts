import type { Logger } from '@chat/platform';
import { RETENTION_ACTOR, expiryCutoff, type RoomState } from '../domain/room.ts';
import type { CommandHandler } from './command-handler.ts';

// Rooms' retention, run by each instance for the rooms of the partitions it owns: for a room
// keeping `days` days, once a UTC day passes out of its window, the room records
// RoomHistoryExpired (decided by the room, in order with any change of its retention, so a
// lengthened retention is never overtaken), which the read models turn into tombstones, live and
// alike on a rebuild; then the data keys of the days before it are erased, so the log's copy is
// unreadable from then on. Every pass erases again up to where each room has expired (nothing,
// when nothing is left), so a sweep cut short between the two steps is finished by the next. The clock is the caller's: the schedule passes
// the time of day, an operator or a test any time (the internal /retention/sweep route).

export interface RetentionKeys {
  /** Erases a room's data keys of the days before `before`; answers how many. */
  eraseRoomBefore(roomId: string, before: number, at: number): Promise<number>;
}

export interface SweepResult {
  /** Rooms whose history expired in this sweep. */
  rooms: number;
  /** Data keys erased (one per author and day). */
  keys: number;
}

export class RoomRetention {
  private readonly deps: {
    rooms: () => Iterable<[roomId: string, state: RoomState]>;
    keys: RetentionKeys;
    handler: Pick<CommandHandler, 'handleOwned'>;
    log: Logger;
  };
  private running: Promise<SweepResult> | undefined;

  constructor(deps: RoomRetention['deps']) {
    this.deps = deps;
  }

  /** One pass over the owned rooms at `now` (epoch ms); a pass already under way is joined, not doubled. */
  sweep(now: number): Promise<SweepResult> {
    this.running ??= this.pass(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(now: number): Promise<SweepResult> {
    const result: SweepResult = { rooms: 0, keys: 0 };
    for (const [roomId, state] of [...this.deps.rooms()]) {
      let expired = state.expiredBefore;
      const before = state.retentionDays === null ? 0 : expiryCutoff(state.retentionDays, now);
      if (before > expired) {
        const outcome = await this.deps.handler.handleOwned({
          type: 'ExpireHistory',
          roomId,
          actorId: RETENTION_ACTOR,
          commandId: null,
          before,
          erasedAt: now,
        });
        if (outcome.ok && outcome.eventId !== null) [expired, result.rooms] = [before, result.rooms + 1];
        // Refused (the retention changed meanwhile) or not appended: nothing more expires this pass.
        else if (!outcome.ok)
          this.deps.log.warn('expiring a room’s history failed; the next sweep retries', { roomId, error: outcome.error });
      }
      if (expired > 0) result.keys += await this.deps.keys.eraseRoomBefore(roomId, expired, now);
    }
    return result;
  }
}
