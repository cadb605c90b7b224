import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import type { Redis } from 'ioredis';
import {
  AccessTokenVerifier,
  SessionRevocations,
  accessTokenSettings,
  intFromEnv,
  postgresRevocationRecord,
  topicName,
  type Logger,
  type PlatformConfig,
} from '@chat/platform';
import type { ContentSealer, EventCodec } from '@chat/schemas';
import { KafkaUserEvents } from './adapters/kafka-user-events.ts';
import { OidcSignOn, signOnSettings } from './adapters/oidc-sign-on.ts';
import { PgAccounts, PgSessions } from './adapters/pg-accounts.ts';
import { PgSigningKeys } from './adapters/pg-signing-keys.ts';
import { RedisAbuseLimits } from './adapters/redis-abuse-limits.ts';
import { Accounts } from './app/accounts.ts';
import { DEFAULT_THROTTLE } from './domain/log-in-throttle.ts';
import { authenticator } from './app/identity.ts';
import { KeyRing } from './app/signing-keys.ts';

// Accounts, tokens and their upkeep, wired from the environment: the part of main.ts that
// is about who people are rather than about rooms.

export interface AccountWiring {
  accounts: Accounts;
  /** Abuse limits in Redis; commands per user among them. */
  limits: RedisAbuseLimits;
  keyRing: KeyRing;
  /** Single sign-on, when an OpenID provider is configured (OIDC_ISSUER). */
  signOn: OidcSignOn | undefined;
  authenticate: ReturnType<typeof authenticator>;
  stop(): Promise<void>;
}

export async function wireAccounts(deps: {
  config: PlatformConfig;
  pool: pg.Pool;
  kafka: Kafka;
  codec: EventCodec;
  redis: Redis;
  log: Logger;
  /** Profiles go into the log sealed under these keys. */
  contentKeys: ContentSealer;
  /** This instance's own URL: the default base of the sign-on callback. */
  endpoint: string;
}): Promise<AccountWiring> {
  const { config, pool, kafka, codec, redis, log, contentKeys, endpoint } = deps;
  const env = (name: string, fallback: number) => intFromEnv(process.env, name, fallback);
  const settings = accessTokenSettings();
  const keyRing = new KeyRing(
    new PgSigningKeys(pool),
    {
      rotateAfterMs: env('SIGNING_KEY_ROTATE_AFTER_MS', 30 * 24 * 3600_000),
      publishLeadMs: env('SIGNING_KEY_PUBLISH_LEAD_MS', 15 * 60_000),
    },
    settings,
    log,
  );
  await keyRing.maintain();
  // Postgres is the record of ended sessions; Redis caches it (see SessionRevocations).
  const revocations = new SessionRevocations(redis, config.redisPrefix, postgresRevocationRecord(pool, config.pgSchema));
  const events = new KafkaUserEvents(kafka, codec, topicName(config.topicPrefix, 'userEvents'), contentKeys);
  const limits = new RedisAbuseLimits(redis, config.redisPrefix, {
    signUpsPerAddressPerHour: env('SIGN_UP_LIMIT_PER_ADDRESS', 20),
    signOnStartsPerAddressPer10Min: env('SIGN_ON_START_LIMIT_PER_ADDRESS', 30),
    logInsPerAddressPer15Min: env('LOG_IN_LIMIT_PER_ADDRESS', 100),
    commandsPerUserPer10s: env('COMMAND_LIMIT_PER_USER', 100),
    throttle: {
      ...DEFAULT_THROTTLE,
      freeFailures: env('LOG_IN_FREE_FAILURES', DEFAULT_THROTTLE.freeFailures),
      // A username failing this often from everywhere gives each address one free failure only.
      usernameFailuresBeforeSlowdown: env('LOG_IN_LIMIT_PER_USERNAME', DEFAULT_THROTTLE.usernameFailuresBeforeSlowdown),
      maxDelayMs: env('LOG_IN_BACKOFF_MAX_SECONDS', DEFAULT_THROTTLE.maxDelayMs / 1000) * 1000,
    },
  });
  const accounts = new Accounts({
    accounts: new PgAccounts(pool),
    sessions: new PgSessions(pool),
    events,
    tokens: keyRing,
    revocations,
    limits,
    log,
    accessTokenTtlSeconds: settings.ttlSeconds,
    refreshTokenTtlMs: env('REFRESH_TOKEN_TTL_MS', 30 * 24 * 3600_000),
  });
  await accounts.fillSkeletons();
  await accounts.rebuildRevocations();
  // Redis back after a restart holds no revocations: rebuild at once, before the upkeep would.
  const rebuildOnReconnect = () =>
    void accounts.keepRevocationsWhole().then(
      (rebuilt) => rebuilt && log.info('revocation cache rebuilt from Postgres'),
      (error: unknown) => log.warn('rebuilding the revocation cache failed', { error }),
    );
  redis.on('ready', rebuildOnReconnect);
  const upkeep = setInterval(
    () => {
      keyRing.maintain().catch((error: unknown) => log.warn('signing key upkeep failed', { error }));
      accounts.finishRegistrations().catch((error: unknown) => log.warn('finishing registrations failed', { error }));
      accounts.finishDeletions().catch((error: unknown) => log.warn('finishing account deletions failed', { error }));
      rebuildOnReconnect();
    },
    env('ACCOUNT_UPKEEP_INTERVAL_MS', 30_000),
  );
  const signOn = signOnSettings(process.env, endpoint);
  return {
    accounts,
    limits,
    keyRing,
    signOn: signOn && new OidcSignOn(signOn, redis, config.redisPrefix, accounts, log, (address) => limits.signOnStart(address)),
    authenticate: authenticator(new AccessTokenVerifier(keyRing.verificationKeys, settings, revocations)),
    stop: async () => {
      clearInterval(upkeep);
      redis.off('ready', rebuildOnReconnect);
      await events.close();
    },
  };
}
