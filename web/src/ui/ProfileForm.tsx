import { useMutation, useQuery } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import { ME, UPDATE_PROFILE } from '../graphql/operations.ts';
import { describeRefusal } from './hooks.ts';

export function ProfileForm() {
  const me = useQuery(ME);
  const user = me.data?.me;
  if (!user) return <p className="pad muted">Loading…</p>;
  return <ProfileFields key={user.id} user={user} />;
}

function ProfileFields({
  user,
}: {
  user: { id: string; username: string; displayName: string; avatarUrl: string | null; bio: string | null };
}) {
  const [displayName, setDisplayName] = useState(user.displayName);
  const [avatarUrl, setAvatarUrl] = useState(user.avatarUrl ?? '');
  const [bio, setBio] = useState(user.bio ?? '');
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  // The answer is the profile as it now is: written to the cached user at once (the users read
  // model may take a moment longer to show it, so reading it back could show the old one).
  const [updateProfile, { loading }] = useMutation(UPDATE_PROFILE, {
    update(cache, { data }) {
      const profile = data?.updateProfile;
      if (profile?.__typename !== 'Profile' || !profile.userId) return;
      cache.modify({
        id: cache.identify({ __typename: 'User', id: profile.userId }),
        fields: { displayName: (old) => profile.displayName ?? old, avatarUrl: () => profile.avatarUrl, bio: () => profile.bio },
      });
    },
  });
  async function submit(event: FormEvent) {
    event.preventDefault();
    const { data } = await updateProfile({
      variables: { displayName: displayName.trim(), avatarUrl: avatarUrl.trim() || null, bio: bio.trim() || null },
    });
    const result = data?.updateProfile;
    setNote(result?.__typename === 'CommandError' ? { ok: false, text: describeRefusal(result) } : { ok: true, text: 'Saved.' });
  }
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="profile-title">
      <h1 id="profile-title">Your profile</h1>
      <p className="muted">@{user.username}</p>
      <label>
        Display name
        <input required maxLength={64} value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
      </label>
      <label>
        Avatar URL <span className="hint">(https)</span>
        <input type="url" pattern="https://.*" maxLength={2000} value={avatarUrl} onChange={(e) => setAvatarUrl(e.target.value)} />
      </label>
      <label>
        Bio
        <textarea maxLength={500} value={bio} onChange={(e) => setBio(e.target.value)} />
      </label>
      {note && (
        <p role={note.ok ? 'status' : 'alert'} className={note.ok ? 'muted' : 'problem'}>
          {note.text}
        </p>
      )}
      <button type="submit" className="primary" disabled={loading}>
        Save profile
      </button>
    </form>
  );
}
