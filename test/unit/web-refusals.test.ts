import { describe, expect, it } from 'vitest';
import { describeLiveListEnd, describeRefusal } from '../../web/src/ui/refusals.ts';

// What the web client says for a refused command: a line a person reads, with the command's
// own words where they name what was refused.

describe('web client refusals', () => {
  it('says that a limit was reached, and which, for LIMIT_REACHED', () => {
    expect(describeRefusal({ code: 'LIMIT_REACHED', message: 'a message has at most 20 different reactions' })).toBe(
      'That goes over a limit: a message has at most 20 different reactions.',
    );
    expect(describeRefusal({ code: 'LIMIT_REACHED', message: null })).toBe(
      'That goes over a limit: too many reactions, mentions or rooms.',
    );
  });

  it('says when to try again for RATE_LIMITED, and passes other refusals on as the command worded them', () => {
    expect(describeRefusal({ code: 'RATE_LIMITED', message: 'slow down', retryAfterSeconds: 7 })).toBe(
      'Too many attempts; try again in 7 s.',
    );
    expect(describeRefusal({ code: 'NOT_A_MEMBER', message: 'you are not a member of this room' })).toBe(
      'you are not a member of this room',
    );
  });

  it('says why the room list stopped following live when myEvents ended with LIMIT_REACHED, and nothing otherwise', () => {
    const refused = { message: 'myEvents follows at most 1000 rooms, and you are in more', extensions: { code: 'LIMIT_REACHED' } };
    expect(describeLiveListEnd([refused])).toBe(
      'Your room list no longer updates live: myEvents follows at most 1000 rooms, and you are in more. Leave rooms you no longer need, then reload.',
    );
    expect(describeLiveListEnd([{ message: 'the read models are away', extensions: { code: 'UNAVAILABLE' } }])).toBeNull();
  });
});
