/** Small icons for bundle rows (no emoji: not every phone or headless browser has an emoji font). */
export function FolderIcon() {
  return (
    <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true" style={{ verticalAlign: '-3px', marginRight: '0.3rem', color: 'var(--accent)' }}>
      <path d="M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z" strokeLinejoin="round" />
    </svg>
  );
}

export function NoteIcon() {
  return (
    <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true" style={{ verticalAlign: '-3px', marginRight: '0.3rem', color: 'var(--accent)' }}>
      <path d="M6 3h9l4 4v14H6z M9 11h7 M9 15h7" strokeLinejoin="round" strokeLinecap="round" />
    </svg>
  );
}
