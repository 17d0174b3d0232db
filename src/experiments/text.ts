/** Plain-text helpers shared by the command's output and the figures. */

/**
 * Greedy word wrap into lines of at most `width` characters (a longer word stands on a line of its own).
 *
 * @example
 * wrapWords('the quick brown fox', 9); // ['the quick', 'brown fox']
 */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
