// JSON.parse's message without the text it quotes: V8 quotes a piece of the input ("…" is not valid
// JSON), and that piece may hold a password. Messages are logged, so only the position is kept.

export function jsonErrorWithoutText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .replace(/,\s*".*" is not valid JSON$/s, ' (not valid JSON)')
    .slice(0, 200);
}
