import type { Caller } from '@chat/platform';
import type { CommandError } from '../domain/errors.ts';
import type { Accounts } from './accounts.ts';
import type { Arrival, CommandHandler } from './command-handler.ts';

// Deleting an account, in the order that makes every step safe to repeat and the first one the
// one that matters: (1) the caller proves it is them again; (2) the time of the deletion is fixed
// on the account, once; (3) every content key of theirs is erased, so their messages and profile
// are unreadable everywhere from here on, the log included; (4) each room they are in or wrote in
// gets a MemberErased event, as their own command, through the room's owner like any other:
// they leave, and the read models turn what they wrote into tombstones, live; (5) their sessions
// end (their data exports removed just before), the account is emptied and AccountDeleted
// appended, and their keys erased once more. Cut short anywhere before (5), the
// caller's session still works and the same call carries on where it stopped; after (5), the
// account upkeep appends AccountDeleted if it was not.

export interface ErasableKeys {
  /** Erases the user's content keys and refuses them new ones; answers the rooms they had keys in. */
  eraseUser(userId: string, at: number): Promise<string[]>;
}

export interface TouchedRooms {
  roomsTouchedBy(userId: string): Promise<string[]>;
}

export interface ExportRemover {
  /** Removes the user's data exports (exportMyData), made or under way. */
  removeOf(userId: string): Promise<void>;
}

export interface DeletedAccount {
  userId: string;
  /** The rooms that now show the user as deleted. */
  rooms: number;
}

export class AccountDeletion {
  private readonly deps: { accounts: Accounts; keys: ErasableKeys; rooms: TouchedRooms; handler: CommandHandler; exports: ExportRemover };

  constructor(deps: AccountDeletion['deps']) {
    this.deps = deps;
  }

  async deleteAccount(caller: Caller, password: string | null, arrival: Arrival): Promise<DeletedAccount | CommandError> {
    const { accounts, keys, rooms, handler, exports } = this.deps;
    const refused = await accounts.reauthenticate(caller, password);
    if (refused) return refused;
    const userId = caller.userId;
    const erasedAt = await accounts.startDeletion(userId);
    const keyRooms = await keys.eraseUser(userId, erasedAt);
    const touched = [...new Set([...keyRooms, ...(await rooms.roomsTouchedBy(userId))])];
    for (const roomId of touched) {
      // One key per account and room: a retry after an unclear answer meets the first append, not a second one.
      const commandId = `erase:${userId}`;
      const outcome = await handler.handle({ type: 'EraseMember', roomId, actorId: userId, commandId, erasedAt }, arrival);
      // A room the key table names but the log never got (its first message's append failed) has nothing to erase.
      if (!outcome.ok && outcome.error.code !== 'ROOM_NOT_FOUND') return outcome.error;
    }
    await exports.removeOf(userId);
    await accounts.finishDeletion(userId);
    // Again, now that no session can send: a key made by a send racing the first erasure goes too.
    await keys.eraseUser(userId, erasedAt);
    return { userId, rooms: touched.length };
  }
}
