-- The writers a partition's claim replaced and nobody has fenced yet. A claimant swaps itself in
-- and inherits the list with the writer it replaced; it serves only after fencing every one and
-- removing them here. A fence that fails (the broker down) leaves them listed, so the retry,
-- or whoever claims the partition next, fences them still: the claim used to move first and a
-- retried claim found only itself to replace, so the old writer could go on committing.
ALTER TABLE command_partition_writers ADD COLUMN to_fence text[] NOT NULL DEFAULT '{}';
