# Live messages of one room over the graphql-transport-ws protocol, with the `websockets`
# package (Debian: python3-websockets; pip: websockets).
# Usage: python3 examples/subscribe.py <accessToken> <roomId> [ws://127.0.0.1:4002/graphql]
import asyncio, json, sys
from websockets.client import connect

async def main(token, room_id, url="ws://127.0.0.1:4002/graphql"):
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"  # subscribe only after it
        query = 'subscription Live($roomId: ID!) { messageAdded(roomId: $roomId, after: "0") { sequence senderId body } }'
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"roomId": room_id}}}))
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            elif message["type"] == "next":
                print(json.dumps(message["payload"]["data"]["messageAdded"]), flush=True)
            elif message["type"] in ("error", "complete"):
                print(json.dumps(message), file=sys.stderr)
                return

asyncio.run(main(*sys.argv[1:]))
