-- Look-alike usernames (issue 18): each account's UTS #39 skeleton (command-service/src/domain/
-- identifier.ts), unique, so `paypal` and `paypaI`, or `vip1` and a Cyrillic look-alike, cannot
-- both exist. Null only for accounts written before this column: the command service fills
-- those at start, leaving null (and logging) the later of two look-alikes that already exist.
ALTER TABLE auth_accounts ADD COLUMN username_skeleton text;
CREATE UNIQUE INDEX auth_accounts_username_skeleton ON auth_accounts (username_skeleton);
