-- Rooms with a topic, a visibility and a kind (group or direct), members with roles, and
-- open invitations. Rooms and members written before this get the defaults their events imply:
-- public group rooms, and the creator as owner.
ALTER TABLE rooms
  ADD COLUMN topic text,
  ADD COLUMN visibility text NOT NULL DEFAULT 'PUBLIC',
  ADD COLUMN kind text NOT NULL DEFAULT 'GROUP';
ALTER TABLE room_members ADD COLUMN role text NOT NULL DEFAULT 'MEMBER';
UPDATE room_members m SET role = 'OWNER' FROM rooms r WHERE r.room_id = m.room_id AND r.created_by = m.user_id;

CREATE TABLE room_invitations (
  room_id    uuid        NOT NULL REFERENCES rooms (room_id),
  user_id    text        NOT NULL,
  invited_by text        NOT NULL,
  invited_at timestamptz NOT NULL,
  PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_invitations_by_user ON room_invitations (user_id);

-- Browsing and searching public rooms by name.
CREATE INDEX rooms_public_by_name ON rooms (lower(name)) WHERE visibility = 'PUBLIC' AND kind = 'GROUP';
