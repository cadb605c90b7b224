import { describe, expect, it } from 'vitest';
import { ROOM_START, readRoomCursor, roomCursor } from '../src/cursors.ts';

const ROOM = '6f1c1d3e-8a53-5d0b-9c1e-1f2a3b4c5d6e';
const OTHER = '0b7e2f64-1c9a-5e3d-8f4b-7a6c5d4e3f2a';

describe('room cursors', () => {
  it('name the same place again in their own room, whatever the case of its id', () => {
    for (const position of [1, 2, 999, 2 ** 40]) {
      expect(readRoomCursor('message', ROOM, roomCursor('message', ROOM, position))).toBe(position);
      expect(readRoomCursor('event', ROOM.toUpperCase(), roomCursor('event', ROOM, position))).toBe(position);
    }
    expect(readRoomCursor('message', ROOM, ROOM_START)).toBe(0);
  });

  it('are refused in another room, as the other kind, made up, or overlong', () => {
    expect(readRoomCursor('message', OTHER, roomCursor('message', ROOM, 3))).toEqual({ refused: 'is a cursor of another room' });
    expect(readRoomCursor('event', ROOM, roomCursor('message', ROOM, 3))).toMatchObject({ refused: expect.stringMatching(/event cursor/) });
    const madeUp = [
      '17',
      '-1',
      '',
      'bTo6Ng',
      Buffer.from(`m:${ROOM}:1:2`).toString('base64url'),
      Buffer.from(`m:${ROOM}:1e3`).toString('base64url'),
    ];
    for (const cursor of [...madeUp, 'x'.repeat(10_000), 'a b', 'é']) {
      expect(readRoomCursor('message', ROOM, cursor), cursor.slice(0, 20)).toMatchObject({
        refused: expect.stringMatching(/message cursor/),
      });
    }
  });
});
