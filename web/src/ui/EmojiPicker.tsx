import { useEffect, useRef } from 'react';
import { EMOJI } from './emoji.ts';

/** A grid of emoji buttons: Tab walks it, Escape closes it. */
export function EmojiPicker({ label, onPick, onClose }: { label: string; onPick: (emoji: string) => void; onClose: () => void }) {
  const first = useRef<HTMLButtonElement>(null);
  // Focus moves into the grid while it is open, and back to where it came from when it closes.
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    first.current?.focus();
    return () => opener?.focus();
  }, []);
  return (
    <div
      className="emoji-picker"
      role="dialog"
      aria-label={label}
      onKeyDown={(e) => e.key === 'Escape' && (e.stopPropagation(), onClose())}
    >
      {EMOJI.map((emoji, index) => (
        <button
          key={emoji}
          ref={index === 0 ? first : undefined}
          type="button"
          className="emoji"
          aria-label={emoji}
          onClick={() => onPick(emoji)}
        >
          {emoji}
        </button>
      ))}
    </div>
  );
}
