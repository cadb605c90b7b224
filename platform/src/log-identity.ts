import type { Admin } from 'kafkajs';
import { fetchTopicIds } from './topic-ids.ts';
import { topicName, type TopicKey } from './topics.ts';

// Which event log a deployment's state was built from. Offsets, checkpoints, snapshots and the
// idempotency keys folded from the log only mean something in that log: the Kafka cluster that
// issued them (its cluster id) and the very topics (their topic ids, which Kafka gives a topic
// when it is made: a topic deleted and made again under the same name gets a new one). Written
// as one string, `<cluster id>/<topic>=<topic id>,…`, so that every record of it (the
// deployment's, each read-model schema's, each snapshot's) compares it whole.
//
// Deployments from before topic ids were recorded hold the cluster id alone: that still names
// the same log when the cluster answering has that id, and is replaced by the whole identity.

/** The topics whose offsets a deployment's state holds. */
const EVENT_TOPICS: readonly TopicKey[] = ['roomEvents', 'userEvents'];

/** The identity of the event log answering now. Rejects while Kafka or a topic is missing. */
export async function readLogId(admin: Admin, prefix: string): Promise<string> {
  const names = EVENT_TOPICS.map((key) => topicName(prefix, key));
  const [{ clusterId }, ids] = await Promise.all([admin.describeCluster(), fetchTopicIds(admin, names)]);
  return `${clusterId}/${names.map((name) => `${name}=${ids.get(name)!}`).join(',')}`;
}

/** True when `recorded` names the log `answering` names: the same identity, or the cluster id alone of an older record. */
export function sameLog(recorded: string, answering: string): boolean {
  return recorded === answering || (!recorded.includes('/') && recorded === clusterOf(answering));
}

/** For an operator: the cluster, and the topics that differ when only they do. */
export function describeLogChange(followed: string, answering: string): string {
  if (clusterOf(followed) !== clusterOf(answering))
    return `Kafka cluster ${clusterOf(answering)} answers where cluster ${clusterOf(followed)} did`;
  const before = topicsOf(followed);
  const changed = [...topicsOf(answering)].filter(([name, id]) => before.get(name) !== id).map(([name]) => name);
  return `in Kafka cluster ${clusterOf(answering)}, ${changed.join(' and ')} ${changed.length === 1 ? 'is a topic' : 'are topics'} made again (new topic ids)`;
}

function clusterOf(logId: string): string {
  return logId.split('/')[0]!;
}

function topicsOf(logId: string): Map<string, string> {
  const topics = logId.split('/')[1];
  return new Map(topics ? topics.split(',').map((pair) => pair.split('=') as [string, string]) : []);
}
