import { useMutation } from '@apollo/client/react';
import { useState } from 'react';
import type { RoomMembersQuery, Role } from '../generated/graphql.ts';
import { INVITE_MEMBER, REMOVE_MEMBER, SET_MEMBER_ROLE } from '../graphql/operations.ts';
import { Avatar } from './Avatar.tsx';
import { describeRefusal, useChat } from './hooks.ts';
import { UserSearch } from './UserSearch.tsx';

type Member = NonNullable<NonNullable<RoomMembersQuery['room']>['members']>['edges'][number]['node'];

/** Who is in the room and whether they are online; owners and admins manage membership here. */
export function MembersPanel({
  roomId,
  myRole,
  members,
  onChanged,
}: {
  roomId: string;
  myRole: string | null;
  members: Member[];
  onChanged: () => void;
}) {
  const { session } = useChat();
  const [inviteMember] = useMutation(INVITE_MEMBER);
  const [removeMember] = useMutation(REMOVE_MEMBER);
  const [setMemberRole] = useMutation(SET_MEMBER_ROLE);
  const [note, setNote] = useState<string | null>(null);
  const manages = myRole === 'OWNER' || myRole === 'ADMIN';

  async function run(work: Promise<{ data?: unknown }>, done: string) {
    const { data } = await work;
    const result = Object.values((data ?? {}) as Record<string, { __typename: string; code?: string | null; message?: string | null }>)[0];
    if (result?.__typename === 'CommandError') setNote(describeRefusal({ code: result.code ?? null, message: result.message ?? null }));
    else {
      setNote(done);
      onChanged();
    }
  }

  return (
    <aside className="members" id="members" aria-label="Members">
      <h2>Members</h2>
      <ul className="people">
        {members.map((member) => {
          const name = member.user?.displayName ?? member.userId;
          const status = member.user?.presence.status ?? 'OFFLINE';
          return (
            <li key={member.userId} data-testid="member" className="member">
              {member.user && <Avatar user={member.user} size={24} />}
              <span>
                <span className={`presence ${status.toLowerCase()}`} aria-label={status.toLowerCase()} role="img">
                  ●
                </span>{' '}
                {name} <span className="muted">{member.role.toLowerCase()}</span>
              </span>
              <div className="member-actions">
                {myRole === 'OWNER' && member.userId !== session.userId && (
                  <select
                    aria-label={`Role of ${name}`}
                    value={member.role}
                    onChange={(e) =>
                      void run(
                        setMemberRole({ variables: { roomId, userId: member.userId, role: e.target.value as Role } }),
                        `${name} is now ${e.target.value.toLowerCase()}.`,
                      )
                    }
                  >
                    <option value="MEMBER">member</option>
                    <option value="ADMIN">admin</option>
                    <option value="OWNER">owner</option>
                  </select>
                )}
                {mayRemove(myRole, member.role) && member.userId !== session.userId && (
                  <button
                    type="button"
                    className="small"
                    aria-label={`Remove ${name}`}
                    onClick={() => void run(removeMember({ variables: { roomId, userId: member.userId } }), `${name} was removed.`)}
                  >
                    Remove
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
      {manages && (
        <UserSearch
          label="Invite someone"
          action="Invite"
          exclude={members.map((m) => m.userId)}
          onPick={(user) => void run(inviteMember({ variables: { roomId, userId: user.id } }), `${user.displayName} was invited.`)}
        />
      )}
      {note && (
        <p role="status" className="muted">
          {note}
        </p>
      )}
    </aside>
  );
}

/** Owners remove anyone else; admins remove members (the command service's rule, offered only where it holds). */
function mayRemove(myRole: string | null, theirRole: string): boolean {
  return myRole === 'OWNER' || (myRole === 'ADMIN' && theirRole === 'MEMBER');
}
