// Where a user's data exports (exportMyData) are kept: made by the query service, removed a day
// later by it, and at once by the command side when the account is deleted.

export const exportKeys = {
  /** The job and its progress, in Redis. */
  job: (redisPrefix: string, userId: string) => `${redisPrefix}export:${userId}`,
  /** Every archive, in the object store. */
  archives: (objectPrefix: string) => `${objectPrefix}exports/`,
  archivesOf: (objectPrefix: string, userId: string) => `${exportKeys.archives(objectPrefix)}${userId}/`,
  archive: (objectPrefix: string, userId: string, exportId: string) => `${exportKeys.archivesOf(objectPrefix, userId)}${exportId}.json.gz`,
};
