import { Agent, request } from 'undici';
import type { Stack } from '@chat/infra';
import { gql } from '@chat/test/graphql';
import { instanceHeaders } from './instance-headers.ts';

// How the load benchmarks send: sendMessage through the one endpoint (the query service's
// GraphQL, as a client does) by default, or straight to the command service signed as an
// instance (SEND_TO=command: what the command side costs alone, without the endpoint's share).

export type SendTo = 'endpoint' | 'command';

/** SEND_TO from the environment (TARGET, its older name, is read too); the endpoint unless it says command. */
export function sendToFromEnv(env: NodeJS.ProcessEnv = process.env): SendTo {
  return (env.SEND_TO ?? env.TARGET) === 'command' ? 'command' : 'endpoint';
}

export const DESCRIBE_SEND_TO: Record<SendTo, string> = {
  endpoint: 'the one endpoint (query service), as a client',
  command: 'the command service, signed as an instance',
};

const CREATE = `mutation($key: ID!) { createRoom(name: "bench", commandId: $key) { ... on RoomAccepted { roomId } ... on CommandError { code message } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) {
  __typename ... on CommandError { code } } }`;

/** Creates `count` rooms owned by `token`'s user, through the one endpoint. */
export async function createRooms(stack: Stack, token: string, count: number): Promise<string[]> {
  const rooms: string[] = [];
  for (let r = 0; r < count; r++) {
    const created = (await gql(stack.queryUrl, CREATE, { key: `room-${r}` }, token)).createRoom;
    if (!created.roomId) throw new Error(`createRoom: ${JSON.stringify(created)}`);
    rooms.push(created.roomId as string);
  }
  return rooms;
}

export interface MessageSender {
  /** Sends one message; resolves with its outcome: MessageAccepted, an error code, or what failed. */
  send(roomId: string, body: string, clientMessageId: string): Promise<string>;
  close(): Promise<void>;
}

/** A sender of `token`'s messages to `to`, over `connections` keep-alive connections. */
export function messageSender(stack: Stack, to: SendTo, token: string, connections = 64): MessageSender {
  const agent = new Agent({ connections, pipelining: 1 });
  const url = new URL(to === 'endpoint' ? stack.queryUrl : stack.commandUrl);
  return {
    send: async (roomId, text, clientMessageId) => {
      const body = JSON.stringify({ query: SEND, variables: { roomId, body: text, id: clientMessageId } });
      try {
        const response = await request(url, {
          method: 'POST',
          dispatcher: agent,
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${token}`,
            ...(to === 'command' ? instanceHeaders(url, body) : {}),
          },
          body,
        });
        const answer = (await response.body.json()) as { data?: { sendMessage: { __typename: string; code?: string } } };
        return answer.data?.sendMessage.code ?? answer.data?.sendMessage.__typename ?? `HTTP ${response.statusCode}, GraphQL error`;
      } catch (error) {
        return `network: ${(error as Error).message}`;
      }
    },
    close: () => agent.close(),
  };
}
