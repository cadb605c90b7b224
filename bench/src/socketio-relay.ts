import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

// The baseline bench:fanout runs beside the platform: the plain relay most Socket.IO chat apps
// are. Clients join rooms; a message sent is emitted to its room through the Redis adapter
// (so several relay processes could share rooms) and acknowledged. Nothing is checked,
// stored, ordered or replayed: what it costs is the floor of live delivery, not a rival design.
//
// Started by bench/src/fanout.ts (env: PORT, REDIS_URL, REDIS_PREFIX); prints "ready".

const pub = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const sub = pub.duplicate();
const http = createServer();
const io = new Server(http, {
  transports: ['websocket'],
  adapter: createAdapter(pub, sub, { key: `${process.env.REDIS_PREFIX ?? ''}socket.io` }),
});

interface Sent {
  room: string;
  id: string;
  body: string;
}

io.on('connection', (socket) => {
  socket.on('join', (room: string, ack?: () => void) => {
    void socket.join(room);
    ack?.();
  });
  socket.on('send', (message: Sent, ack?: (outcome: string) => void) => {
    io.to(message.room).emit('message', { id: message.id, body: message.body, sentAt: Date.now() });
    ack?.('MessageAccepted');
  });
});

http.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => {
  void io.close();
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
});
