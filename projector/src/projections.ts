import { quoteIdent, topicName, type PlatformConfig } from '@chat/platform';
import { applyRoomEvents } from './adapters/pg-projection.ts';
import { applyUserEvents } from './adapters/pg-users.ts';
import type { Projections } from './app/consume.ts';

/**
 * The topics the projector reads, each with what writes its events into the read models, which
 * erase deleted messages' content shares and upload names in the command side's tables, in the
 * deployment's own schema (whichever schema the read models are built in).
 */
export function projectionsFor({ topicPrefix, pgSchema }: Pick<PlatformConfig, 'topicPrefix' | 'pgSchema'>): Projections {
  const commandSchema = quoteIdent(pgSchema);
  return {
    [topicName(topicPrefix, 'roomEvents')]: (flight, topic, records, options) =>
      applyRoomEvents(flight, topic, records, { ...options, commandSchema }),
    [topicName(topicPrefix, 'userEvents')]: applyUserEvents,
  };
}
