import { checkCommand, type RoomCommand } from '../domain/room.ts';
import { unavailable, type Outcome, type Position } from './outcome.ts';
import type { PartitionOwner } from './partition-owner.ts';

// Runs one command wherever it arrives: checked at the door, then decided by the partition's
// owner, here or on the instance that owns it. An accepted answer waits (bounded) until the
// projection has passed its position, so the caller reads its own write.

export interface ProjectionWaiter {
  /** Resolves true once the read model includes `position`, false after `timeoutMs`. */
  waitVisible(position: Position, timeoutMs: number): Promise<boolean>;
}

export interface Routing {
  partitionOf(roomId: string): number;
  /** This instance's owner of `partition`, if it owns it. */
  localOwner(partition: number): PartitionOwner | undefined;
}

/**
 * How a command arrived: the caller's credential headers, for forwarding. (Its trace context is
 * the active one: the HTTP instrumentation took it from the request, and passes it on with a
 * forwarded command; the owner captures it with the decision, for the record's headers.)
 */
export interface Arrival {
  credentials: Record<string, string>;
}

export interface Forwarder {
  /** Runs the command on the owner of `partition`; undefined when no owner answered (the caller tries again). */
  forward(partition: number, command: ForwardedCommand, arrival: ForwardArrival, deadline: number): Promise<Outcome | undefined>;
}

export type ForwardArrival = Arrival;

/** A command as it travels between instances: the owner authenticates the caller itself. */
export type ForwardedCommand = RoomCommand extends infer C ? (C extends unknown ? Omit<C, 'actorId'> : never) : never;

export interface HandlerOptions {
  appendTimeoutMs: number;
  visibilityTimeoutMs: number;
}

export class CommandHandler {
  private readonly routing: Routing;
  private readonly forwarder: Forwarder;
  private readonly projection: ProjectionWaiter;
  private readonly options: HandlerOptions;

  constructor(routing: Routing, forwarder: Forwarder, projection: ProjectionWaiter, options: HandlerOptions) {
    this.routing = routing;
    this.forwarder = forwarder;
    this.projection = projection;
    this.options = options;
  }

  /** A command from a client: decided here when this instance owns its room, else forwarded (checked first, so junk travels nowhere). */
  async handle(command: RoomCommand, arrival: Arrival): Promise<Outcome> {
    const invalid = checkCommand(command);
    if (invalid) return { ok: false, error: invalid };
    const partition = this.routing.partitionOf(command.roomId);
    const deadline = Date.now() + this.options.appendTimeoutMs;
    for (;;) {
      if (this.routing.localOwner(partition)) return this.handleOwned(command);
      const { actorId: _caller, ...forwarded } = command;
      const outcome = await this.forwarder.forward(partition, forwarded, { credentials: arrival.credentials }, deadline);
      if (outcome) return outcome;
      if (Date.now() >= deadline) return unavailable('no instance owns this room right now; retry with the same idempotency key');
    }
  }

  /**
   * A command for a partition this instance owns (from a client, or forwarded: the owner's
   * decide() checks it in full); NOT_OWNER_MESSAGE when it does not own it.
   */
  async handleOwned(command: RoomCommand): Promise<Outcome> {
    const owner = this.routing.localOwner(this.routing.partitionOf(command.roomId));
    if (!owner) return notOwner();
    // The decision stays in the queue until Kafka answers, even when the caller has been told
    // to retry: a retry then meets the first attempt in the idempotency index instead of racing it.
    const outcome = await withTimeout(owner.submit(command, this.options.appendTimeoutMs), this.options.appendTimeoutMs);
    if (outcome === undefined) return unavailable('the event log did not acknowledge in time; retry with the same idempotency key');
    if (!outcome.ok || outcome.position === null || outcome.projected) return outcome;
    const projected = await this.projection.waitVisible(outcome.position, this.options.visibilityTimeoutMs);
    return { ...outcome, projected };
  }
}

/** What an instance answers for a partition it does not own: the forwarder looks again. */
export const NOT_OWNER_MESSAGE = 'this instance does not own the room';

function notOwner(): Outcome {
  return unavailable(NOT_OWNER_MESSAGE);
}

export function isNotOwner(outcome: Outcome): boolean {
  return !outcome.ok && outcome.error.code === 'UNAVAILABLE' && outcome.error.message === NOT_OWNER_MESSAGE;
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
