-- Accounts, sessions and signing keys: the command side's own records, never built from the
-- log and never dropped by a read-model rebuild (the projector leaves auth_* tables alone).
-- Credentials live only here: no event carries a password, a hash or a token.

CREATE TABLE auth_accounts (
  user_id        uuid        PRIMARY KEY,
  username       text        NOT NULL,
  -- NFKC + lower case: the form under which two usernames are the same account. The unique
  -- index is what keeps concurrent sign-ups on any number of instances to one account.
  username_key   text        NOT NULL UNIQUE,
  -- PHC-format argon2id; null for accounts that only sign on through an identity provider.
  password_hash  text,
  display_name   text        NOT NULL,
  avatar_url     text,
  bio            text,
  created_at     timestamptz NOT NULL,
  -- The UserRegistered event, fixed when the row is written, so that an append that has to be
  -- repeated after a crash repeats the same event.
  registered_event_id uuid   NOT NULL,
  registered_command_id text,
  -- Set once UserRegistered is in the log; null rows are appended again by the sweeper.
  registered_offset bigint
);
CREATE INDEX auth_accounts_unregistered ON auth_accounts (created_at) WHERE registered_offset IS NULL;

-- A log-in and everything refreshed from it: one refresh-token family.
CREATE TABLE auth_sessions (
  session_id     uuid        PRIMARY KEY,
  user_id        uuid        NOT NULL REFERENCES auth_accounts,
  created_at     timestamptz NOT NULL DEFAULT now(),
  revoked_at     timestamptz,
  revoked_reason text
);
CREATE INDEX auth_sessions_by_user ON auth_sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX auth_sessions_revoked ON auth_sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Refresh tokens are opaque; only their SHA-256 is stored. Each is used once: a second use
-- is a stolen token, and revokes its session.
CREATE TABLE auth_refresh_tokens (
  token_hash  bytea       PRIMARY KEY,
  session_id  uuid        NOT NULL REFERENCES auth_sessions,
  issued_at   timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);
CREATE INDEX auth_refresh_tokens_by_session ON auth_refresh_tokens (session_id);

-- Accounts signed on through an OpenID Connect provider, by the provider's issuer and subject.
CREATE TABLE auth_identity_links (
  issuer     text        NOT NULL,
  subject    text        NOT NULL,
  user_id    uuid        NOT NULL REFERENCES auth_accounts,
  linked_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issuer, subject)
);

-- Token signing keys, shared by every instance. A key is published (JWKS) from its creation
-- and signs from signs_from, so verifiers have it before the first token signed with it.
CREATE TABLE auth_signing_keys (
  kid          text        PRIMARY KEY,
  private_jwk  jsonb       NOT NULL,
  public_jwk   jsonb       NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  signs_from   timestamptz NOT NULL
);
