import { v5 as uuidV5 } from 'uuid';

// Room ids the server derives rather than takes from a client (RFC 9562 v5, name-based), in
// one place so that the GraphQL layer computes them and the decider checks them with the same
// rule. createRoom: caller + idempotency key → room id, so a retried createRoom names the same
// room on any instance and can never create a second one. openDirect: the two user ids,
// sorted → the one direct room of that pair; the decider refuses an OpenDirect naming any
// other room, or anyone could open (and become a member of) another pair's direct room.

const ROOM_ID_NAMESPACE = '3c1b2a5e-8f0d-4c1e-9b7a-6d2f4e8a1c30';
const DIRECT_ROOM_NAMESPACE = '8d0f6c3a-2b7e-4f19-a5c4-0e9d1b2c3f47';

/** The id of the room `createRoom` makes for this caller and idempotency key. */
export function createdRoomId(creatorId: string, commandId: string): string {
  return uuidV5(`${creatorId}\u0000${commandId}`, ROOM_ID_NAMESPACE);
}

/** The one direct room of two users, whichever of them opens it. */
export function directRoomId(a: string, b: string): string {
  return uuidV5([a, b].sort().join('\u0000'), DIRECT_ROOM_NAMESPACE);
}
