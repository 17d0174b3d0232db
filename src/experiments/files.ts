/** Files a run writes: replaced atomically (temp file in the same folder, then rename). */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * Writes `text` to `file` so that readers see the old or the new content, never a mix.
 *
 * @example
 * await writeFileAtomic('runs/x/summary.json', JSON.stringify(summary));
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await fs.open(temp, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, file);
}
