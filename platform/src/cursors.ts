// A cursor names a place in one room: a message sequence ('message') or a room revision
// ('event'), with the room it belongs to. Opaque to clients (base64url), who pass back what
// they were given; bound to its room, so a cursor of one room used in another is refused
// instead of silently naming some other place there. "0" is the start of any room.

export type CursorKind = 'message' | 'event';

export const ROOM_START = '0';

const TAG: Record<CursorKind, string> = { message: 'm', event: 'e' };
const WHAT: Record<CursorKind, string> = { message: 'a message cursor', event: 'an event cursor' };
// The longest real cursor is about 70 characters: anything much longer is not ours.
const MAX_LENGTH = 120;

export function roomCursor(kind: CursorKind, roomId: string, position: number): string {
  return Buffer.from(`${TAG[kind]}:${roomId.toLowerCase()}:${position}`).toString('base64url');
}

/** The position a cursor names in `roomId`, or why it names none there. */
export function readRoomCursor(kind: CursorKind, roomId: string, cursor: string): number | { refused: string } {
  if (cursor === ROOM_START) return 0;
  const notOurs = { refused: `must be ${WHAT[kind]} returned by this API, or "${ROOM_START}" for the start` };
  if (cursor.length > MAX_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return notOurs;
  const [tag, room, position, ...rest] = Buffer.from(cursor, 'base64url').toString('latin1').split(':');
  if (tag !== TAG[kind] || !room || position === undefined || rest.length > 0 || !/^\d{1,15}$/.test(position)) {
    return notOurs;
  }
  if (room !== roomId.toLowerCase()) return { refused: 'is a cursor of another room' };
  return Number(position);
}
