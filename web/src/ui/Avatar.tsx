/** A user's picture, or their initial on a colour picked from their id. */
export function Avatar({ user, size = 32 }: { user: { id: string; displayName: string; avatarUrl?: string | null }; size?: number }) {
  if (user.avatarUrl) return <img className="avatar" src={user.avatarUrl} alt="" width={size} height={size} referrerPolicy="no-referrer" />;
  const hue = [...user.id].reduce((sum, c) => sum + c.charCodeAt(0), 0) % 360;
  return (
    <span className="avatar" aria-hidden="true" style={{ width: size, height: size, background: `hsl(${hue} 45% 35%)` }}>
      {[...user.displayName][0]?.toUpperCase() ?? '?'}
    </span>
  );
}
