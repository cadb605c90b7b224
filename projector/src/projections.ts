import { topicName } from '@chat/platform';
import { applyRoomEvents } from './adapters/pg-projection.ts';
import { applyUserEvents } from './adapters/pg-users.ts';
import type { Projections } from './app/consume.ts';

/** The topics the projector reads, each with what writes its events into the read models. */
export function projectionsFor(topicPrefix: string): Projections {
  return {
    [topicName(topicPrefix, 'roomEvents')]: applyRoomEvents,
    [topicName(topicPrefix, 'userEvents')]: applyUserEvents,
  };
}
