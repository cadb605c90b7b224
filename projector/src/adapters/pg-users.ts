import type { QueryFlight } from '@chat/platform';
import { isRoomEvent, type UserDomainEvent } from '@chat/schemas';
import { NotApplicableError, type Applied, type EventRecord } from './pg-projection.ts';

// The users read model from the user topic. A user's events share a partition and arrive in
// log order; ProfileUpdated carries the whole profile, so the last one applied wins. Applying
// an event twice (a replay, or a UserRegistered appended again after a crash) changes nothing.
// AccountDeleted leaves the id and the time only: the profile events before it were sealed under
// keys the deletion erased, so a rebuild reads them as empty and ends on the same row.

export async function applyUserEvents(flight: QueryFlight, _topic: string, records: readonly EventRecord[]): Promise<Applied> {
  for (const { event } of records) {
    if (isRoomEvent(event)) throw new NotApplicableError(`${event.type} does not belong in the user topic`);
    applyUserEvent(flight, event);
  }
  return { faults: 0, notifications: [] };
}

function applyUserEvent(flight: QueryFlight, event: UserDomainEvent): void {
  switch (event.type) {
    case 'UserRegistered':
      flight.send(
        `INSERT INTO users (user_id, username, display_name, registered_at, updated_at)
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (user_id) DO NOTHING`,
        [event.userId, event.username, event.displayName, new Date(event.occurredAt)],
      );
      return;
    case 'ProfileUpdated':
      flight.send(`UPDATE users SET display_name = $2, avatar_url = $3, bio = $4, updated_at = $5 WHERE user_id = $1`, [
        event.userId,
        event.displayName,
        event.avatarUrl,
        event.bio,
        new Date(event.occurredAt),
      ]);
      return;
    case 'AccountDeleted':
      flight.send(
        `UPDATE users SET username = '', display_name = '', avatar_url = NULL, bio = NULL, deleted_at = $2, updated_at = $2 WHERE user_id = $1`,
        [event.userId, new Date(event.occurredAt)],
      );
      // Nobody is mentioned as them any more, in any room: a rebuild, which reads their name as
      // erased, resolves no mention of them either. A pass over the rooms' messages, once per deletion.
      flight.send(
        `UPDATE room_events SET data = CASE WHEN jsonb_array_length((data -> 'mentions') - $1::text) = 0 THEN data - 'mentions'
                                            ELSE jsonb_set(data, '{mentions}', (data -> 'mentions') - $1::text) END
          WHERE type = 'MessageSent' AND data -> 'mentions' ? $1::text`,
        [event.userId],
      );
      flight.send('DELETE FROM message_mentions WHERE user_id = $1', [event.userId]);
      return;
  }
}
