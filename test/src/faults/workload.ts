import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { sleep } from '@chat/platform';
import type { Stack } from '@chat/infra';
import { signUp, type TestUser } from '../accounts.ts';
import { gql } from '../graphql.ts';
import type { Attempt, HistoryMessage, SendRecord, StreamRecord } from './history.ts';

// The fault suite's clients, as real ones behave, all through the one endpoint: every user
// sends to every room one message at a time, retrying an unanswered send with the same
// clientMessageId until it is answered (the web client's outbox); every room has subscribers
// that resume from the last cursor they received whenever their socket drops. Everything
// they send and see is recorded for the checker (history.ts).

const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) {
  __typename ... on MessageAccepted { messageId } ... on CommandError { code } } }`;
const CREATE = `mutation { createRoom(name: "faults") { __typename ... on RoomAccepted { roomId } ... on CommandError { code } } }`;
const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename ... on CommandError { code } } }`;
const LIVE = `subscription($roomId: ID!, $after: String) { messageAdded(roomId: $roomId, after: $after) { id sequence cursor } }`;
const PAGE = `query($roomId: ID!, $after: String) { messages(roomId: $roomId, first: 200, after: $after) {
  edges { node { id sequence senderId clientMessageId body } } pageInfo { hasNextPage endCursor } } }`;

/** Answers a client treats as "not now, try again": the same key goes out again. */
const RETRYABLE = new Set(['UNAVAILABLE', 'RATE_LIMITED', 'TIMEOUT']);

export interface WorkloadOptions {
  users: number;
  rooms: number;
  subscribersPerRoom: number;
  /** Pause between one pair's (user, room) answered send and its next. */
  intervalMs: number;
  /** One attempt's timeout, after which the client retries with the same key. */
  attemptTimeoutMs: number;
}

export class Workload {
  readonly sends: SendRecord[] = [];
  readonly streams: StreamRecord[] = [];
  private readonly stack: Stack;
  private readonly options: WorkloadOptions;
  private users: TestUser[] = [];
  private roomIds: string[] = [];
  private sending = false;
  private senders: Promise<void>[] = [];
  private subscribing = true;
  private readonly clients = new Set<Client>();
  private subscriptionLoops: Promise<void>[] = [];
  private giveUpAt = Infinity;

  constructor(stack: Stack, options: WorkloadOptions) {
    this.stack = stack;
    this.options = options;
  }

  /** Signs the users up, makes the rooms with everyone in them, and starts the subscribers. */
  async prepare(): Promise<void> {
    const run = Date.now().toString(36);
    for (let u = 0; u < this.options.users; u++) this.users.push(await signUp(this.stack.commandUrl, `fault${run}u${u}`));
    const owner = this.users[0]!;
    for (let r = 0; r < this.options.rooms; r++) {
      const created = (await gql(this.stack.queryUrl, CREATE, {}, owner.accessToken)).createRoom;
      if (!created.roomId) throw new Error(`createRoom: ${JSON.stringify(created)}`);
      this.roomIds.push(created.roomId as string);
      for (const user of this.users.slice(1)) {
        const joined = (await gql(this.stack.queryUrl, JOIN, { roomId: created.roomId }, user.accessToken)).joinRoom;
        if (joined.__typename === 'CommandError') throw new Error(`joinRoom: ${joined.code}`);
      }
    }
    for (const roomId of this.roomIds) {
      for (let s = 0; s < this.options.subscribersPerRoom; s++) {
        const user = this.users[s % this.users.length]!;
        const stream: StreamRecord = { subscriber: `${user.username}#${s}`, roomId, after: 0, received: [], reconnects: 0 };
        this.streams.push(stream);
        this.subscriptionLoops.push(this.follow(stream, user.accessToken));
      }
    }
  }

  /** Every user starts sending to every room. */
  start(): void {
    this.sending = true;
    for (const user of this.users) for (const roomId of this.roomIds) this.senders.push(this.sendLoop(user, roomId));
  }

  /** Stops starting new sends and waits (up to `drainMs`) for every send under way to be answered. */
  async stop(drainMs: number): Promise<void> {
    this.sending = false;
    this.giveUpAt = Date.now() + drainMs;
    await Promise.all(this.senders);
  }

  /** The acknowledgement times of every send, for recovery figures. */
  ackTimes(): number[] {
    return this.sends.flatMap((s) => s.attempts.filter((a) => a.outcome === 'accepted').map((a) => a.at)).sort((a, b) => a - b);
  }

  /** Each room's whole history, as the endpoint serves it. */
  async history(): Promise<HistoryMessage[]> {
    const reader = this.users[0]!.accessToken;
    const all: HistoryMessage[] = [];
    for (const roomId of this.roomIds) {
      let after: string | null = null;
      for (;;) {
        const page: { edges: { node: Record<string, any> }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } = (
          await gql(this.stack.queryUrl, PAGE, { roomId, after }, reader)
        ).messages;
        for (const { node } of page.edges) {
          all.push({
            roomId,
            sequence: node.sequence,
            messageId: node.id,
            senderId: node.senderId,
            clientMessageId: node.clientMessageId,
            body: node.body,
          });
        }
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
    }
    return all;
  }

  /** Waits until every stream has reached its room's last message (or `timeoutMs` passed), then closes them. */
  async closeStreams(history: readonly HistoryMessage[], timeoutMs: number): Promise<void> {
    const last = new Map<string, number>();
    for (const m of history) last.set(m.roomId, Math.max(last.get(m.roomId) ?? 0, m.sequence));
    const deadline = Date.now() + timeoutMs;
    const behind = () => this.streams.some((s) => (s.received.at(-1)?.sequence ?? 0) < (last.get(s.roomId) ?? 0));
    while (behind() && Date.now() < deadline) await sleep(200);
    this.subscribing = false;
    for (const client of this.clients) await Promise.resolve(client.dispose()).catch(() => undefined);
    await Promise.all(this.subscriptionLoops);
  }

  private async sendLoop(user: TestUser, roomId: string): Promise<void> {
    let n = 0;
    while (this.sending) {
      const key = `${user.username}-${roomId.slice(0, 8)}-${n++}`;
      const record: SendRecord = { roomId, senderId: user.userId, key, body: `message ${key}`, startedAt: Date.now(), attempts: [] };
      this.sends.push(record);
      await this.deliver(record, user.accessToken);
      await sleep(this.options.intervalMs);
    }
  }

  /** Attempts until answered for good, or until the drain ends. */
  private async deliver(record: SendRecord, token: string): Promise<void> {
    let backoff = 100;
    while (Date.now() < this.giveUpAt) {
      const attempt = await this.attempt(record, token);
      record.attempts.push(attempt);
      if (attempt.outcome !== 'unknown') return;
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 1000);
    }
  }

  private async attempt(record: SendRecord, token: string): Promise<Attempt> {
    try {
      const response = await fetch(this.stack.queryUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: SEND, variables: { roomId: record.roomId, body: record.body, id: record.key } }),
        signal: AbortSignal.timeout(this.options.attemptTimeoutMs),
      });
      const answer = (await response.json()) as { data?: { sendMessage?: { __typename: string; messageId?: string; code?: string } } };
      const result = answer.data?.sendMessage;
      const at = Date.now();
      if (result?.__typename === 'MessageAccepted' && result.messageId) return { outcome: 'accepted', messageId: result.messageId, at };
      if (result?.code && !RETRYABLE.has(result.code)) return { outcome: 'refused', code: result.code, at };
      return { outcome: 'unknown', reason: result?.code ?? `HTTP ${response.status}`, at };
    } catch (error) {
      return { outcome: 'unknown', reason: (error as Error).name, at: Date.now() };
    }
  }

  /** One subscriber: subscribes after its last cursor, and again whenever the subscription ends. */
  private async follow(stream: StreamRecord, token: string): Promise<void> {
    let cursor = '0';
    while (this.subscribing) {
      const client = createClient({
        url: this.stack.queryWsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
        keepAlive: 2000,
      });
      this.clients.add(client);
      await new Promise<void>((resolve) => {
        client.subscribe<{ messageAdded: { id: string; sequence: number; cursor: string } }>(
          { query: LIVE, variables: { roomId: stream.roomId, after: cursor } },
          {
            next: ({ data }) => {
              if (!data) return;
              stream.received.push({ sequence: data.messageAdded.sequence, messageId: data.messageAdded.id });
              cursor = data.messageAdded.cursor;
            },
            error: () => resolve(),
            complete: () => resolve(),
          },
        );
      });
      this.clients.delete(client);
      await Promise.resolve(client.dispose()).catch(() => undefined);
      if (!this.subscribing) return;
      stream.reconnects++;
      await sleep(300);
    }
  }
}
