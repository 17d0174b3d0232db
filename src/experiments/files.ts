/** Text files a run writes, replaced atomically like checkpoints. */
import { writeAtomically } from '../rl/checkpoint';

/**
 * Writes `text` to `file` so that readers see the old content or the new, never a mix.
 *
 * @example
 * await writeFileAtomic('runs/x/summary.json', JSON.stringify(summary));
 */
export function writeFileAtomic(file: string, text: string): Promise<void> {
  return writeAtomically(file, [new TextEncoder().encode(text)]);
}
