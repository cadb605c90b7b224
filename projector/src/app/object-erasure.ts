import type pg from 'pg';
import { deleteKeys, inTransaction, type createS3Client, type Logger, type ObjectStoreConfig } from '@chat/platform';
import { ATTACHMENT_VARIANTS, objectKeys } from '@chat/schemas';

// Removes the objects of deleted messages' attachments from the object store: the projection
// queues them (object_erasures) in the transaction that deletes the message; this takes a few
// at a time, locked so that other projector instances take others, removes every variant, and
// only then drops the rows. A store that fails leaves them for the next round.

const BATCH = 50;

export interface ObjectEraserDeps {
  /** The pool of the active read models, when projecting. */
  pool: () => pg.Pool | undefined;
  store: ObjectStoreConfig;
  /** OBJECT_PREFIX: put before every key. */
  prefix: string;
  s3: ReturnType<typeof createS3Client>;
  log: Logger;
  intervalMs?: number;
}

export class ObjectEraser {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;

  private readonly deps: ObjectEraserDeps;

  constructor(deps: ObjectEraserDeps) {
    this.deps = deps;
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.round) return; // the last round still runs
      this.round = this.eraseQueued().then(
        () => void (this.round = undefined),
        (error: unknown) => {
          this.round = undefined;
          this.deps.log.warn('removing deleted attachments from the object store failed; retrying', { error });
        },
      );
    }, this.deps.intervalMs ?? 2_000);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.round;
  }

  /** One round: answers how many attachments' objects were removed. */
  async eraseQueued(): Promise<number> {
    const pool = this.deps.pool();
    if (!pool) return 0;
    let erased = 0;
    for (;;) {
      const done = await inTransaction(pool, async (client) => {
        const { rows } = await client.query<{ attachment_id: string }>(
          `SELECT attachment_id::text FROM object_erasures ORDER BY queued_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
        );
        if (rows.length === 0) return 0;
        const keys = rows.flatMap((r) => ATTACHMENT_VARIANTS.map((v) => objectKeys.variant(this.deps.prefix, r.attachment_id, v)));
        await deleteKeys(this.deps.store, keys, this.deps.s3);
        await client.query(`DELETE FROM object_erasures WHERE attachment_id = ANY($1::uuid[])`, [rows.map((r) => r.attachment_id)]);
        return rows.length;
      });
      erased += done;
      if (done < BATCH) return erased;
    }
  }
}
