import type { Kafka } from 'kafkajs';

// kafkajs asks the cluster for the transaction coordinator (a FindCoordinator round trip)
// before every AddPartitionsToTxn and every EndTxn: two of a transaction's five requests, and
// about a fifth of the time a lone command waits for Kafka. The coordinator of a transactional
// id only moves when its broker goes away or the __transaction_state partition changes leader,
// so this remembers it per producer's cluster and asks again after a request to it failed for
// any reason but CONCURRENT_TRANSACTIONS (the previous transaction's markers still being
// written: the same coordinator answers the retry), after its connection dropped, and when
// the cluster (re)connects. The appender moves to a new producer (a new cluster, an empty
// memory) after any failed transaction anyway.
//
// kafkajs offers no hook for this, and its releases ended at 2.2.4, so this wraps the clusters
// a Kafka client creates (its private createCluster) from our code instead of patching
// node_modules. A kafkajs whose internals differ is left as it is (every lookup asked).

const TRANSACTION_COORDINATOR = 1; // kafkajs/src/protocol/coordinatorTypes.js

interface Broker {
  isConnected(): boolean;
}

interface Cluster {
  findGroupCoordinator(args: { groupId: string; coordinatorType?: number }): Promise<Broker>;
  connect(): Promise<unknown>;
  disconnect(): Promise<unknown>;
}

type CreateCluster = (...args: unknown[]) => Cluster;

/** Makes the transactional producers `kafka` creates from now on remember their coordinator; false when kafkajs's internals are not the ones known. */
export function cacheTransactionCoordinators(kafka: Kafka): boolean {
  const holder = kafka as unknown as Record<symbol, unknown>;
  const key = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
  const create = key === undefined ? undefined : holder[key];
  if (key === undefined || typeof create !== 'function') return false;
  holder[key] = (...args: unknown[]) => rememberCoordinators((create as CreateCluster)(...args));
  return true;
}

function rememberCoordinators(cluster: Cluster): Cluster {
  const { findGroupCoordinator, connect, disconnect } = cluster;
  if (typeof findGroupCoordinator !== 'function' || typeof connect !== 'function' || typeof disconnect !== 'function') return cluster;
  const known = new Map<string, Promise<Broker>>();
  const forget = () => known.clear();
  const find = (args: CoordinatorQuery) => {
    const found = findGroupCoordinator.call(cluster, args).then((broker) => forgetOnFailure(broker, forget));
    known.set(args.groupId, found);
    found.catch(() => known.delete(args.groupId));
    return found;
  };
  cluster.findGroupCoordinator = function (args) {
    if (args.coordinatorType !== TRANSACTION_COORDINATOR) return findGroupCoordinator.call(this, args);
    const cached = known.get(args.groupId);
    if (!cached) return find(args);
    // A broker whose connection dropped is looked up again (it may no longer be the coordinator).
    return cached.then((broker) => (broker.isConnected() ? broker : find(args)));
  };
  cluster.connect = function () {
    forget();
    return connect.call(this);
  };
  cluster.disconnect = function () {
    forget();
    return disconnect.call(this);
  };
  return cluster;
}

type CoordinatorQuery = { groupId: string; coordinatorType?: number };

/** The requests kafkajs sends to the transaction coordinator. */
const COORDINATOR_REQUESTS = ['addPartitionsToTxn', 'endTxn', 'addOffsetsToTxn'] as const;
const watched = new WeakSet<Broker>();

/** Wraps the broker's coordinator requests (once per broker) so that a failure empties its cluster's memory. */
function forgetOnFailure(broker: Broker, forget: () => void): Broker {
  if (watched.has(broker)) return broker;
  watched.add(broker);
  const requests = broker as unknown as Record<string, unknown>;
  for (const name of COORDINATOR_REQUESTS) {
    const request = requests[name];
    if (typeof request !== 'function') continue;
    requests[name] = async function (this: unknown, ...args: unknown[]) {
      try {
        return await (request as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      } catch (error) {
        if ((error as { type?: string }).type !== 'CONCURRENT_TRANSACTIONS') forget();
        throw error;
      }
    };
  }
  return broker;
}
