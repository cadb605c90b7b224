import { AssignerProtocol, PartitionAssigners, type Admin, type Consumer, type Kafka, type PartitionAssigner } from 'kafkajs';
import { keepWaitingWhileRunning, type Logger } from '@chat/platform';
import type { EventCodec } from '@chat/schemas';
import type { PartitionState } from '../app/partition-state.ts';
import { LogMismatch } from '../app/partition-owner.ts';
import type { RoomEvent } from '../domain/room.ts';

// Partition ownership from Kafka's consumer-group assignment: each partition of the room
// topic belongs to one member of the `command-service` group at a time. The same consumer
// reads a partition's tail when its owner restores it, and is paused otherwise: the owner
// applies its own appends as they commit, so it never needs to read them back.
//
// Each member advertises the URL it serves commands on in its group metadata (as Kafka
// Streams does with application.server), so any instance can find a partition's owner.

export interface OwnershipEvents {
  /** The group gave this instance these partitions (the whole new assignment). */
  assigned(partitions: number[]): void;
}

interface TailRead {
  state: PartitionState;
  target: bigint;
  folded: number;
  done: () => void;
  /** Ends the read unfinished: another read of the partition took its place. */
  fail: (error: Error) => void;
  /** Where the read stood at the last watchdog round. */
  seen: bigint;
}

// A tail read that made no progress for this long is pointed at its position again: a
// rebalance or a fetch error may have left the consumer somewhere else.
const TAIL_WATCHDOG_MS = 3000;

export class KafkaOwnership {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly codec: EventCodec;
  private readonly topic: string;
  private readonly groupId: string;
  private readonly log: Logger;
  private readonly tails = new Map<number, TailRead>();
  private assignment: number[] = [];
  private joined = false;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    kafka: Kafka,
    codec: EventCodec,
    options: { topic: string; groupId: string; endpoint: string; sessionTimeoutMs: number; log: Logger },
  ) {
    this.codec = codec;
    this.topic = options.topic;
    this.groupId = options.groupId;
    this.log = options.log;
    this.admin = kafka.admin();
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      rebalanceTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(options.sessionTimeoutMs / 10)),
      // Paused partitions make empty fetches sleep this long; a restore should not wait on it.
      maxWaitTimeInMs: 100,
      partitionAssigners: [advertising(options.endpoint)],
    });
  }

  get isJoined(): boolean {
    return this.joined;
  }

  async start(events: OwnershipEvents): Promise<void> {
    await this.admin.connect();
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      const partitions = payload.memberAssignment[this.topic] ?? [];
      this.assignment = partitions;
      for (const [partition, tail] of this.tails) if (!partitions.includes(partition)) this.finishTail(partition, tail);
      // Before the first fetch: nothing is read unless a restore asks for its tail. A tail read
      // that spans the rebalance goes on from where it got to (the join reset the positions).
      const idle = partitions.filter((partition) => !this.tails.has(partition));
      if (idle.length > 0) this.consumer.pause([{ topic: this.topic, partitions: idle }]);
      for (const [partition, tail] of this.tails) this.readFrom(partition, tail.state.nextOffset);
      events.assigned(partitions);
    });
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const tail = this.tails.get(payload.partition);
      if (tail) {
        tail.state.advanceTo(BigInt(payload.lastOffset) + 1n);
        if (tail.state.nextOffset >= tail.target) this.finishTail(payload.partition, tail);
      }
    });
    this.watchdog = setInterval(() => {
      for (const [partition, tail] of this.tails) {
        if (tail.state.nextOffset === tail.seen && this.assignment.includes(partition)) {
          this.log.warn('a tail read made no progress; reading from its position again', { partition, offset: String(tail.seen) });
          this.readFrom(partition, tail.state.nextOffset);
        }
        tail.seen = tail.state.nextOffset;
      }
    }, TAIL_WATCHDOG_MS);
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const tail = this.tails.get(batch.partition);
        if (!tail) return;
        // A room's state must not skip an event because the registry is away: wait for it.
        const keepWaiting = keepWaitingWhileRunning(payload);
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          const outcome = await this.codec.decodeRecord(message.value, keepWaiting);
          if ('event' in outcome) tail.state.apply(outcome.event as RoomEvent, offset);
          else
            this.log.error('passing over an undecodable record', {
              partition: batch.partition,
              offset: message.offset,
              error: outcome.undecodable,
            });
          tail.state.advanceTo(offset + 1n);
          tail.folded++;
        }
      },
    });
  }

  /** Folds every committed record of `partition` from `state.nextOffset` to its end; resolves with how many. */
  async readTail(partition: number, state: PartitionState): Promise<number> {
    const ends = await this.admin.fetchTopicOffsets(this.topic);
    const target = BigInt(ends.find((p) => p.partition === partition)?.high ?? '0');
    if (state.nextOffset > target) {
      throw new LogMismatch(`the log of partition ${partition} ends at ${target}, before this partition's state (${state.nextOffset})`);
    }
    if (state.nextOffset === target) return 0;
    if (!this.assignment.includes(partition)) throw new Error(`partition ${partition} is not assigned here`);
    return new Promise<number>((resolve, reject) => {
      const tail: TailRead = { state, target, folded: 0, done: () => resolve(tail.folded), fail: reject, seen: -1n };
      // One read per partition. One still going belongs to an owner that was released while
      // it restored (its partition then came back with a new owner), or is the new owner's,
      // overtaken by that late one: either way it is failed, never left waiting for good, and
      // a restore still wanted retries it.
      this.tails.get(partition)?.fail(new Error(`another tail read of partition ${partition} took this one's place`));
      this.tails.set(partition, tail);
      this.readFrom(partition, state.nextOffset);
    });
  }

  private readFrom(partition: number, offset: bigint): void {
    try {
      this.consumer.seek({ topic: this.topic, partition, offset: String(offset) });
      this.consumer.resume([{ topic: this.topic, partitions: [partition] }]);
    } catch (error) {
      // kafkajs restarts a consumer that failed (a broker gone, say), and until it runs again
      // seek throws. Thrown from the watchdog's timer, that killed the instance; the read is not
      // lost by waiting: the consumer's next join reads every tail on from where it got to.
      this.log.warn('a tail read waits for the consumer, which is not running; its next join reads on', { partition, error });
    }
  }

  /** Which instance (its advertised URL) owns each partition, as the group coordinator sees it now. */
  async owners(): Promise<Map<number, string>> {
    const { groups } = await this.admin.describeGroups([this.groupId]);
    const owners = new Map<number, string>();
    for (const member of groups[0]?.members ?? []) {
      // Mid-rebalance a member may have no assignment (or metadata) yet: it owns nothing then.
      if (member.memberAssignment.length === 0 || member.memberMetadata.length === 0) continue;
      try {
        const endpoint = AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.userData.toString();
        const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment[this.topic] ?? [];
        if (endpoint) for (const partition of assignment) owners.set(partition, endpoint);
      } catch (error) {
        this.log.debug('skipping a group member whose metadata does not decode', { memberId: member.memberId, error });
      }
    }
    return owners;
  }

  async stop(): Promise<void> {
    clearInterval(this.watchdog);
    await this.consumer.disconnect();
    await this.admin.disconnect();
  }

  private finishTail(partition: number, tail: TailRead): void {
    this.tails.delete(partition);
    if (this.assignment.includes(partition)) this.consumer.pause([{ topic: this.topic, partitions: [partition] }]);
    tail.done();
  }
}

/** kafkajs's round-robin assigner, with this member's endpoint in its subscription metadata. */
function advertising(endpoint: string): PartitionAssigner {
  return (config) => {
    const roundRobin = PartitionAssigners.roundRobin(config);
    return {
      ...roundRobin,
      protocol: ({ topics }) => ({
        name: roundRobin.name,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: roundRobin.version, topics, userData: Buffer.from(endpoint) }),
      }),
    };
  };
}
