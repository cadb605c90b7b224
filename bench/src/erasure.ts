import { performance } from 'node:perf_hooks';
import { infraUp, startStack } from '@chat/infra';
import { intFromEnv } from '@chat/platform';
import { signUp, TEST_PASSWORD } from '@chat/test/accounts';
import { gql, instanceFetch } from '@chat/test/graphql';
import { createRooms, messageSender } from './sender.ts';

// What erasure costs as a person waits for it, through the one endpoint: a user with MESSAGES
// messages over ROOMS rooms exports their data (request to READY), then deletes their account
// (the answer, and until the last room's tombstones and their deleted profile show); another
// room of MESSAGES messages with a day of retention is swept two days on (the sweep's answer,
// and until its history reads as expired).
//
// Usage: ./chat bench:erasure   (env: MESSAGES, ROOMS)

const MESSAGES = intFromEnv(process.env, 'MESSAGES', 2000);
const ROOMS = intFromEnv(process.env, 'ROOMS', 20);

const EXPORT = `mutation { exportMyData { id status } }`;
const MY_EXPORT = `query { myDataExport { status done total } }`;
const DELETE = `mutation($password: String) { deleteAccount(password: $password) { __typename ... on DeletedAccount { rooms } ... on CommandError { code message } } }`;
const USER = `query($id: ID!) { user(id: $id) { deleted } }`;
const LAST = `query($roomId: ID!) { messages(roomId: $roomId, last: 1) { edges { node { deleted } } } }`;
const RETENTION = `mutation($roomId: ID!) { setRoomRetention(roomId: $roomId, days: 1) { __typename } }`;

await infraUp();
const stack = await startStack('bench-erasure');
try {
  const author = await signUp(stack.commandUrl, 'author');
  const reader = await signUp(stack.commandUrl, 'reader');
  const rooms = await createRooms(stack, author.accessToken, ROOMS + 1);
  const [retained, ...authored] = rooms as [string, ...string[]];
  const sender = messageSender(stack, 'endpoint', author.accessToken, 32);
  const sendAll = async (targets: string[], count: number, tag: string) => {
    const outcomes = await Promise.all(
      Array.from({ length: count }, (_, i) => sender.send(targets[i % targets.length]!, `${tag} ${i} ${'x'.repeat(150)}`, `${tag}-${i}`)),
    );
    const refused = outcomes.filter((o) => o !== 'MessageAccepted');
    if (refused.length) throw new Error(`${refused.length} sends refused, e.g. ${refused[0]}`);
  };
  await sendAll(authored, MESSAGES, 'm');
  await sendAll([retained], MESSAGES, 'r');
  await sender.close();
  const until = async (probe: () => Promise<boolean>) => {
    while (!(await probe())) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  // The export: requested, then followed until READY.
  let started = performance.now();
  await gql(stack.queryUrl, EXPORT, {}, author.accessToken);
  await until(async () => (await gql(stack.queryUrl, MY_EXPORT, {}, author.accessToken)).myDataExport?.status === 'READY');
  const exportMs = performance.now() - started;

  // Retention: the room is swept as if two days had passed.
  await gql(stack.queryUrl, RETENTION, { roomId: retained }, author.accessToken);
  started = performance.now();
  const sweep = await instanceFetch(`${stack.instance('command-service').internalUrl}/retention/sweep`, {
    method: 'POST',
    body: JSON.stringify({ now: Date.now() + 2 * 86_400_000 }),
  });
  const swept = await sweep.json();
  const sweepAnswerMs = performance.now() - started;
  await until(async () => (await gql(stack.queryUrl, LAST, { roomId: retained }, author.accessToken)).messages.edges[0]?.node.deleted);
  const sweepVisibleMs = performance.now() - started;

  // The account: deleted, then followed until its last room and its profile show it.
  started = performance.now();
  const deleted = (await gql(stack.queryUrl, DELETE, { password: TEST_PASSWORD }, author.accessToken)).deleteAccount;
  const deleteAnswerMs = performance.now() - started;
  if (deleted.__typename !== 'DeletedAccount') throw new Error(`deleteAccount: ${JSON.stringify(deleted)}`);
  await until(async () => (await gql(stack.queryUrl, USER, { id: author.userId }, reader.accessToken)).user?.deleted === true);
  const deleteVisibleMs = performance.now() - started;

  const ms = (value: number) => Math.round(value);
  console.log(
    JSON.stringify(
      {
        account: { messages: MESSAGES, rooms: ROOMS },
        exportMyData: { requestToReadyMs: ms(exportMs) },
        retention: { roomMessages: MESSAGES, swept, sweepAnswerMs: ms(sweepAnswerMs), untilTombstonesMs: ms(sweepVisibleMs) },
        deleteAccount: { rooms: deleted.rooms, answerMs: ms(deleteAnswerMs), untilProfileDeletedMs: ms(deleteVisibleMs) },
      },
      null,
      2,
    ),
  );
} finally {
  await stack.stop();
}
