/** Why something did not work, announced to screen readers as it appears; nothing when all is well. */
export function Problem({ text, className = '' }: { text: string | null; className?: string }) {
  if (!text) return null;
  return (
    <p role="alert" className={`problem ${className}`.trim()}>
      {text}
    </p>
  );
}
