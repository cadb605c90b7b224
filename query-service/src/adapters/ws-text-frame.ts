import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

// A text message to a client as one write of one buffer: the frame header and the message's
// parts copied after it. ws's own send would measure and encode the string, then cork, write
// the header and the string apart and uncork (a writev of two), for each subscriber's copy.
//
// Writing to ws's socket beside ws is safe while ws queues nothing of its own: a server's
// frames are not masked, and with permessage-deflate off (it is, graphql-ws-server.ts) and
// only strings and pings sent, ws writes every frame at once, in call order. A socket that did
// negotiate an extension gets the message through ws.send instead.

const OPEN = 1;
const FIN_TEXT = 0x81;

/** Sends `head`, `body` and `tail` as one text message; nothing once the socket is no longer open. */
export function sendTextFrame(socket: WebSocket, head: Buffer, body: Buffer, tail: Buffer): void {
  if (socket.readyState !== OPEN) return;
  const raw = (socket as unknown as { _socket?: Socket })._socket;
  const length = head.length + body.length + tail.length;
  if (!raw || socket.extensions !== '') return socket.send(Buffer.concat([head, body, tail], length), { binary: false });
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = FIN_TEXT;
  if (length < 126) frame[1] = length;
  else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  let at = headerLength;
  at += head.copy(frame, at);
  at += body.copy(frame, at);
  tail.copy(frame, at);
  raw.write(frame);
}
