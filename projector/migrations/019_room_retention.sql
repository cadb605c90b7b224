-- How many days of history a room keeps (RoomRetentionSet); null keeps everything. Messages
-- past it become tombstones when the room records RoomHistoryExpired.
ALTER TABLE rooms ADD COLUMN retention_days integer;
