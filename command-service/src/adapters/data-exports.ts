import type { Redis } from 'ioredis';
import { deleteObjectsUnder, type ObjectStoreConfig } from '@chat/platform';
import { exportKeys } from '@chat/schemas';
import type { ExportRemover } from '../app/account-deletion.ts';

// A deleted account's data exports (made by the query service: exportMyData) go with it: the
// job in Redis, and the archives in the object store.

export function dataExportRemover(redis: Redis, redisPrefix: string, store: ObjectStoreConfig, objectPrefix: string): ExportRemover {
  return {
    async removeOf(userId) {
      await redis.del(exportKeys.job(redisPrefix, userId));
      await deleteObjectsUnder(store, exportKeys.archivesOf(objectPrefix, userId));
    },
  };
}
