import { describe, expect, it } from 'vitest';
import { PartitionState } from '../src/app/partition-state.ts';
import {
  MESSAGE_CAPS,
  decide,
  evolve,
  evolveMessage,
  initialRoomState,
  reactionKey,
  type MessageFact,
  type RoomCommand,
  type RoomEvent,
  type RoomState,
} from '../src/domain/room.ts';
import { createdRoomId } from '../src/domain/room-ids.ts';

// Messages belong to their room (issue 18): forged commands that carry another room's message
// id are refused, a log that already holds one leaves the original's facts alone, and the caps
// on reactions and mentions are typed errors.

const [ALICE, MALLORY] = ['0a000000-0000-4000-8000-000000000001', '0b000000-0000-4000-8000-000000000002'];
// Each one's room: the id the server derives for their createRoom with the key 'create'.
const ROOM_A = createdRoomId(ALICE, 'create');
const ROOM_M = createdRoomId(MALLORY, 'create');
const ALICES_MESSAGE = '1f000000-0000-4000-8000-000000000001';

type Without<C> = C extends unknown ? Omit<C, 'roomId' | 'commandId' | 'actorId'> : never;
const as = (actorId: string, roomId: string, command: Without<RoomCommand>): RoomCommand =>
  ({ ...command, roomId, actorId, commandId: crypto.randomUUID() }) as RoomCommand;

const stamp = (command: RoomCommand, events: Omit<RoomEvent, 'eventId' | 'occurredAt' | 'actorId' | 'commandId'>[]) =>
  events.map(
    (e) => ({ ...e, eventId: crypto.randomUUID(), occurredAt: 1, actorId: command.actorId, commandId: command.commandId }) as RoomEvent,
  );

const roomOf = (owner: string, roomId: string): RoomState => {
  const create = { ...as(owner, roomId, { type: 'CreateRoom', name: 'r', topic: null, visibility: 'PUBLIC' }), commandId: 'create' };
  const decision = decide(create, initialRoomState);
  if (!decision.ok) throw new Error(decision.error.message);
  return stamp(create, decision.events).reduce(evolve, initialRoomState);
};
const roomA = roomOf(ALICE, ROOM_A);
const roomM = roomOf(MALLORY, ROOM_M);
const alicesFact: MessageFact = { roomId: ROOM_A, author: ALICE, deleted: false, reactions: new Set() };

const code = (decision: ReturnType<typeof decide>) =>
  decision.ok ? decision.events.map((e) => e.type).join(',') || 'no-op' : decision.error.code;

describe('messages belong to their room', () => {
  it('refuses a SendMessage whose message id is already known, in this room or another', () => {
    const forged = as(MALLORY, ROOM_M, {
      type: 'SendMessage',
      messageId: ALICES_MESSAGE,
      body: 'mine now',
      replyTo: null,
      format: 'PLAIN',
      attachments: [],
    });
    expect(code(decide(forged, roomM, null, alicesFact))).toBe('INVALID_INPUT');
    expect(code(decide(forged, roomM, null, { ...alicesFact, roomId: ROOM_M, author: MALLORY }))).toBe('INVALID_INPUT');
    expect(code(decide(forged, roomM, null, null))).toBe('MessageSent');
    // An id the server did not make (not a UUID) is refused at the door.
    expect(code(decide({ ...forged, messageId: 'm1' } as RoomCommand, roomM))).toBe('INVALID_INPUT');
  });

  it('refuses to edit, delete, react to or reply to a message of another room, as not found', () => {
    const elsewhere = (command: Without<RoomCommand>) => code(decide(as(MALLORY, ROOM_M, command), roomM, alicesFact));
    expect(elsewhere({ type: 'EditMessage', messageId: ALICES_MESSAGE, body: 'gotcha' })).toBe('MESSAGE_NOT_FOUND');
    expect(elsewhere({ type: 'DeleteMessage', messageId: ALICES_MESSAGE })).toBe('MESSAGE_NOT_FOUND');
    expect(elsewhere({ type: 'AddReaction', messageId: ALICES_MESSAGE, emoji: '👍' })).toBe('MESSAGE_NOT_FOUND');
    expect(elsewhere({ type: 'RemoveReaction', messageId: ALICES_MESSAGE, emoji: '👍' })).toBe('MESSAGE_NOT_FOUND');
    const reply = {
      type: 'SendMessage' as const,
      messageId: crypto.randomUUID(),
      body: 're',
      replyTo: ALICES_MESSAGE,
      format: 'PLAIN' as const,
      attachments: [],
    };
    expect(elsewhere(reply)).toBe('MESSAGE_NOT_FOUND');
  });

  it('keeps a message’s facts to its own room, even when the log holds a forged event of another room under its id', () => {
    const sent = (roomId: string, actorId: string, revision: number): RoomEvent => ({
      type: 'MessageSent',
      roomId,
      messageId: ALICES_MESSAGE,
      body: 'x',
      replyTo: null,
      format: 'PLAIN',
      attachments: [],
      eventId: crypto.randomUUID(),
      occurredAt: 10,
      actorId,
      commandId: 'k',
      revision,
    });
    const state = new PartitionState();
    state.apply(sent(ROOM_A, ALICE, 2), 0n);
    state.apply(sent(ROOM_M, MALLORY, 2), 1n); // appended by a forged command before the fix
    state.apply({ ...sent(ROOM_M, MALLORY, 3), type: 'MessageDeleted' } as RoomEvent, 2n);
    expect(state.fact(ROOM_A, ALICES_MESSAGE)).toMatchObject({ roomId: ROOM_A, author: ALICE, deleted: false });
    expect(state.fact(ROOM_M, ALICES_MESSAGE)).toBeUndefined();
    // The same rule in the pure fold the owner's overlay uses.
    const fact = evolveMessage(alicesFact, { ...sent(ROOM_M, MALLORY, 4), type: 'ReactionAdded', emoji: '👍' } as RoomEvent);
    expect(fact).toBe(alicesFact);
  });
});

describe('caps on what one message gathers', () => {
  const react = (emoji: string) => as(MALLORY, ROOM_A, { type: 'AddReaction', messageId: ALICES_MESSAGE, emoji });
  const member = evolve(roomA, {
    type: 'MemberJoined',
    roomId: ROOM_A,
    userId: MALLORY,
    role: 'MEMBER',
    eventId: 'e',
    occurredAt: 1,
    actorId: MALLORY,
    commandId: null,
    revision: 2,
  });
  // Distinct single emojis: the first N of a run of code points that are all RGI emoji.
  const EMOJIS = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲😚🙂🤗🤩🤔🫡🤨😐😑😶🫥🙄😏😣😥😮🤐😯😪😫🥱😴😌😛😜😝🤤😒😓😔😕🫤🙃🫠🤑😲'];
  const withReactions = (keys: string[]): MessageFact => ({ ...alicesFact, reactions: new Set(keys) });

  it(`lets one user hold at most ${MESSAGE_CAPS.reactionsPerUser} distinct reactions on a message`, () => {
    const mine = EMOJIS.slice(0, MESSAGE_CAPS.reactionsPerUser).map((e) => reactionKey(MALLORY, e));
    const full = withReactions(mine);
    const refused = decide(react(EMOJIS[MESSAGE_CAPS.reactionsPerUser]!), member, full);
    expect(refused).toMatchObject({ ok: false, error: { code: 'LIMIT_REACHED' } });
    // One under the cap is fine, reacting again with one already there stays a no-op, and someone else may still react.
    expect(code(decide(react(EMOJIS[MESSAGE_CAPS.reactionsPerUser]!), member, withReactions(mine.slice(1))))).toBe('ReactionAdded');
    expect(code(decide(react(EMOJIS[0]!), member, full))).toBe('no-op');
    expect(code(decide({ ...react(EMOJIS[0]!), actorId: ALICE }, member, full))).toBe('ReactionAdded');
  });

  it(`lets a message gather at most ${MESSAGE_CAPS.emojisPerMessage} distinct emojis, while anyone may still add one already there`, () => {
    const others = EMOJIS.slice(0, MESSAGE_CAPS.emojisPerMessage).map((e, i) => reactionKey(`user-${i}`, e));
    const full = withReactions(others);
    expect(decide(react(EMOJIS[MESSAGE_CAPS.emojisPerMessage]!), member, full)).toMatchObject({
      ok: false,
      error: { code: 'LIMIT_REACHED' },
    });
    expect(code(decide(react(EMOJIS[3]!), member, full))).toBe('ReactionAdded');
  });

  it(`refuses a message or an edit that mentions more than ${MESSAGE_CAPS.mentionsPerMessage} users, counting each name once`, () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `@user${i}`).join(' ');
    const send = (body: string) =>
      decide(
        as(ALICE, ROOM_A, { type: 'SendMessage', messageId: crypto.randomUUID(), body, replyTo: null, format: 'PLAIN', attachments: [] }),
        roomA,
      );
    expect(send(names(MESSAGE_CAPS.mentionsPerMessage + 1))).toMatchObject({ ok: false, error: { code: 'LIMIT_REACHED' } });
    expect(code(send(names(MESSAGE_CAPS.mentionsPerMessage)))).toBe('MessageSent');
    expect(code(send(`${names(MESSAGE_CAPS.mentionsPerMessage)} ${names(MESSAGE_CAPS.mentionsPerMessage)}`))).toBe('MessageSent');
    const edit = decide(
      as(ALICE, ROOM_A, { type: 'EditMessage', messageId: ALICES_MESSAGE, body: names(MESSAGE_CAPS.mentionsPerMessage + 1) }),
      roomA,
      alicesFact,
    );
    expect(edit).toMatchObject({ ok: false, error: { code: 'LIMIT_REACHED' } });
  });
});
