// Live messages of one room over graphql-ws, the way any client subscribes: the subprotocol is
// graphql-transport-ws, and the access token goes in the connection parameters.
// Usage: node examples/subscribe.mjs <accessToken> <roomId> [ws://127.0.0.1:4002/graphql]
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [token, roomId, url = 'ws://127.0.0.1:4002/graphql'] = process.argv.slice(2);
const client = createClient({ url, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` } });
client.subscribe(
  {
    query: 'subscription Live($roomId: ID!) { messageAdded(roomId: $roomId, after: "0") { sequence senderId body } }',
    variables: { roomId },
  },
  { next: ({ data }) => console.log(JSON.stringify(data.messageAdded)), error: (e) => console.error(e), complete: () => undefined },
);
