import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  readInstanceCall,
  refuseInstanceCall,
  signedFetch,
  sleep,
  type InstanceAuth,
  type Logger,
  type OperationCaller,
} from '@chat/platform';
import { CREDENTIAL_HEADERS, isCaller, type Authenticate } from '../app/identity.ts';
import { isNotOwner, type CommandHandler, type ForwardArrival, type ForwardedCommand, type Forwarder } from '../app/command-handler.ts';
import { unavailable, type Outcome } from '../app/outcome.ts';
import type { RoomCommand } from '../domain/room.ts';

// Commands reaching an instance that does not own their room travel to the owner over HTTP,
// on its internal listener, signed as this instance (only an instance holding the shared
// secret may ask an owner to run a command: the command's ids and fields come from our own
// GraphQL layer, which generated them and applied the caller's limits), with the caller's own
// credential headers: the owner authenticates the caller itself too. The
// owner map comes from the consumer group (each member advertises its URL) and is looked up
// again whenever an instance answers that it is not the owner or does not answer at all.
// The trace goes along in the request's traceparent header (written by fetch's instrumentation).

export const FORWARD_PATH = '/internal/commands';
const MAX_BODY_BYTES = 64 * 1024;
// The shape a forwarded command must have; the owner's decide() checks its content in full.
const STRING_FIELDS: Record<RoomCommand['type'], { required: string[]; nullable?: string[] }> = {
  CreateRoom: { required: ['name', 'visibility'], nullable: ['topic'] },
  OpenDirect: { required: ['peerId'] },
  RenameRoom: { required: ['name'] },
  SetRoomTopic: { required: [], nullable: ['topic'] },
  JoinRoom: { required: [] },
  InviteMember: { required: ['userId'] },
  RemoveMember: { required: ['userId'] },
  LeaveRoom: { required: [] },
  SetMemberRole: { required: ['userId', 'role'] },
  SendMessage: { required: ['messageId', 'body', 'format'], nullable: ['replyTo'] },
  EditMessage: { required: ['messageId', 'body'] },
  DeleteMessage: { required: ['messageId'] },
  AddReaction: { required: ['messageId', 'emoji'] },
  RemoveReaction: { required: ['messageId', 'emoji'] },
  MarkRead: { required: [] },
  EraseMember: { required: [] },
  SetRoomRetention: { required: [] },
  ExpireHistory: { required: [] },
};

export interface OwnerDirectory {
  owners(): Promise<Map<number, string>>;
}

export class HttpForwarder implements Forwarder {
  private readonly directory: OwnerDirectory;
  private readonly self: string;
  private readonly auth: InstanceAuth;
  private readonly log: Logger;
  private owners = new Map<number, string>();
  private lookup: Promise<void> | undefined;

  constructor(directory: OwnerDirectory, selfEndpoint: string, auth: InstanceAuth, log: Logger) {
    this.directory = directory;
    this.self = selfEndpoint;
    this.auth = auth;
    this.log = log;
  }

  async forward(partition: number, command: ForwardedCommand, arrival: ForwardArrival, deadline: number): Promise<Outcome | undefined> {
    let endpoint = this.owners.get(partition);
    if (endpoint === undefined || endpoint === this.self) {
      await this.refresh();
      endpoint = this.owners.get(partition);
    }
    if (endpoint === undefined || endpoint === this.self) {
      // A rebalance is under way: nobody (else) owns the partition yet.
      await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
      this.owners.clear();
      return undefined;
    }
    try {
      const response = await signedFetch(this.auth, `${endpoint}${FORWARD_PATH}`, {
        method: 'POST',
        headers: { ...arrival.credentials, 'content-type': 'application/json' },
        body: JSON.stringify(command),
        signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
      });
      const outcome = (await response.json()) as Outcome;
      if (!isNotOwner(outcome)) return outcome;
    } catch (error) {
      // A request that may have reached the owner goes again only under an idempotency key,
      // which makes a second arrival answer the first one's outcome instead of running twice.
      if (command.commandId === null && !neverSent(error)) {
        return unavailable('the instance that owns this room did not answer; the command may or may not have run');
      }
      this.log.debug('forwarding failed; looking up the owner again', { partition, endpoint, error });
      await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
    }
    this.owners.clear();
    return undefined;
  }

  /** One lookup at a time, however many commands are waiting on it. */
  private refresh(): Promise<void> {
    this.lookup ??= this.directory
      .owners()
      .then((owners) => {
        this.owners = owners;
      })
      .catch((error: unknown) => this.log.warn('looking up partition owners failed', { error }))
      .finally(() => {
        this.lookup = undefined;
      });
    return this.lookup;
  }
}

/** Whether a failed request surely never reached the other side (nobody accepted the connection). */
function neverSent(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return code === 'ECONNREFUSED';
}

/** The caller's credential headers of an incoming request, to pass on when forwarding. */
export function credentialsOf(headers: { get(name: string): string | null }): Record<string, string> {
  const credentials: Record<string, string> = {};
  for (const name of CREDENTIAL_HEADERS) {
    const value = headers.get(name);
    if (value !== null) credentials[name] = value;
  }
  return credentials;
}

/** Headers that say what `caller` (an operation's, as a signed batch names it) would have sent in its own request. */
export function callerHeaders(caller: OperationCaller): { get(name: string): string | null } {
  return { get: (name) => (name.toLowerCase() === 'authorization' ? (caller.authorization ?? null) : null) };
}

/** The owner's side: runs a forwarded command, signed by an instance, if this instance owns its room. */
export async function serveForwarded(
  handler: CommandHandler,
  authenticate: Authenticate,
  auth: InstanceAuth,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const call = await readInstanceCall(auth, req, MAX_BODY_BYTES);
  if (!call.ok) return refuseInstanceCall(res, call.status, call.message);
  const headers = { get: (name: string) => headerValue(req.headers[name]) };
  let outcome: Outcome;
  const command = req.method === 'POST' ? parseForwarded(call.body.toString('utf8')) : undefined;
  const caller = await authenticate(headers);
  if (!command) outcome = { ok: false, error: { code: 'INVALID_INPUT', message: 'not a command' } };
  else if (!isCaller(caller)) outcome = { ok: false, error: caller };
  else outcome = await handler.handleOwned({ ...command, actorId: caller.userId });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(outcome));
}

function headerValue(value: string | string[] | undefined): string | null {
  return typeof value === 'string' ? value : null;
}

/** Shape only: every value is checked again by the owner's checkCommand. */
function parseForwarded(body: string): ForwardedCommand | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const c = value as Record<string, unknown>;
  const fields = Object.hasOwn(STRING_FIELDS, c.type as string) ? STRING_FIELDS[c.type as RoomCommand['type']] : undefined;
  if (!fields || typeof c.roomId !== 'string') return undefined;
  if (c.commandId !== null && typeof c.commandId !== 'string') return undefined;
  if (c.expectedRevision != null && typeof c.expectedRevision !== 'number') return undefined;
  if (!fields.required.every((key) => typeof c[key] === 'string')) return undefined;
  if (!(fields.nullable ?? []).every((key) => c[key] === null || typeof c[key] === 'string')) return undefined;
  return c as unknown as ForwardedCommand;
}
