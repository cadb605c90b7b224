import { randomBytes, randomUUID } from 'node:crypto';
import { KeyedLock, type Logger } from '@chat/platform';
import { commandError, type CommandError } from '../domain/errors.ts';
import { EVENT_OF_COMMAND, decide, type DecidedEvent, type RoomCommand, type RoomEvent } from '../domain/room.ts';
import type { AcceptedCommand, Position, RoomStore } from './room-store.ts';

// Runs one command: idempotency check, decide, append to Kafka, fold into the store, then
// wait (bounded) until the projection has caught up so the caller reads its own write.

export interface EventLog {
  /** Appends one room's events in order; resolves with their positions once Kafka acknowledged them. */
  append(events: RoomEvent[], traceparent: string): Promise<Position[]>;
}

export interface ProjectionWaiter {
  /** Resolves true once the read model includes `position`, false after `timeoutMs`. */
  waitVisible(position: Position, timeoutMs: number): Promise<boolean>;
}

export interface Accepted {
  ok: true;
  roomId: string;
  /** The event that records the command; null when the command changed nothing (a repeat join). */
  eventId: string | null;
  position: Position | null;
  messageId: string | null;
  /** True when this answers a retry of a command already accepted. */
  duplicate: boolean;
  /** True when the read models already include the change. */
  projected: boolean;
}

export type Outcome = Accepted | { ok: false; error: CommandError };

export interface HandlerOptions {
  log: Logger;
  appendTimeoutMs: number;
  visibilityTimeoutMs: number;
  now?: () => number;
}

export class CommandHandler {
  private readonly lock = new KeyedLock();
  private readonly store: RoomStore;
  private readonly log: EventLog;
  private readonly projection: ProjectionWaiter;
  private readonly options: HandlerOptions;

  constructor(store: RoomStore, log: EventLog, projection: ProjectionWaiter, options: HandlerOptions) {
    this.store = store;
    this.log = log;
    this.projection = projection;
    this.options = options;
  }

  async handle(command: RoomCommand, incomingTraceparent?: string): Promise<Outcome> {
    // A caller's trace context is carried into Kafka only when well-formed.
    const traceparent = incomingTraceparent && TRACEPARENT.test(incomingTraceparent) ? incomingTraceparent : newTraceparent();
    const appended = this.lock.run(lockKey(command), () => this.decideAndAppend(command, traceparent));
    // The lock stays held until Kafka answers, even when the caller has been told to retry:
    // a retry then finds the first attempt in the idempotency index instead of racing it.
    const outcome = await withTimeout(appended, this.options.appendTimeoutMs);
    if (outcome === undefined) {
      return {
        ok: false,
        error: commandError('UNAVAILABLE', 'the event log did not acknowledge in time; retry with the same idempotency key'),
      };
    }
    if (!outcome.ok || outcome.position === null || outcome.projected) return outcome;
    const projected = await this.projection.waitVisible(outcome.position, this.options.visibilityTimeoutMs);
    return { ...outcome, projected };
  }

  private async decideAndAppend(command: RoomCommand, traceparent: string): Promise<Outcome> {
    const prior = command.commandId === null ? undefined : this.store.acceptedCommand(command.actorId, command.commandId);
    if (prior) return answerRetry(command, prior);

    const decision = decide(command, this.store.state(command.roomId));
    if (!decision.ok) return decision;
    if (decision.events.length === 0) {
      return { ok: true, roomId: command.roomId, eventId: null, position: null, messageId: null, duplicate: false, projected: true };
    }
    const occurredAt = (this.options.now ?? Date.now)();
    const events = decision.events.map((event) => stamp(event, command, occurredAt));
    let positions: Position[];
    try {
      positions = await this.log.append(events, traceparent);
    } catch (error) {
      // The cause stays in the log; the client learns only what it can act on.
      this.options.log.warn('append failed', { command: command.type, roomId: command.roomId, error });
      return { ok: false, error: commandError('UNAVAILABLE', 'the event log is unavailable; retry with the same idempotency key') };
    }
    events.forEach((event, i) => this.store.apply(event, positions[i]!));
    const last = events.length - 1;
    return {
      ok: true,
      roomId: command.roomId,
      eventId: events[last]!.eventId,
      position: positions[last]!,
      messageId: command.type === 'SendMessage' ? command.messageId : null,
      duplicate: false,
      projected: false,
    };
  }
}

/**
 * A new room's id is fresh, so nobody else can race on it; what must not race are two tries
 * of the same createRoom, which share the idempotency key.
 */
function lockKey(command: RoomCommand): string {
  if (command.type === 'CreateRoom' && command.commandId !== null) return `create\u0000${command.actorId}\u0000${command.commandId}`;
  return command.roomId;
}

function answerRetry(command: RoomCommand, prior: AcceptedCommand): Outcome {
  if (prior.roomId !== command.roomId && command.type !== 'CreateRoom') {
    return { ok: false, error: commandError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was already used for another room') };
  }
  if (prior.eventType !== EVENT_OF_COMMAND[command.type]) {
    return { ok: false, error: commandError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was already used for another command') };
  }
  return {
    ok: true,
    roomId: prior.roomId,
    eventId: prior.eventId,
    position: prior.position,
    messageId: prior.messageId ?? null,
    duplicate: true,
    projected: false,
  };
}

function stamp(event: DecidedEvent, command: RoomCommand, occurredAt: number): RoomEvent {
  return { ...event, eventId: randomUUID(), occurredAt, actorId: command.actorId, commandId: command.commandId } as RoomEvent;
}

const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A W3C trace context for commands that arrive without one. */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
