import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/cli/demo';

describe('mixrl demo', () => {
  it('prints a gradient equal to its closed form and fits least squares', async () => {
    const lines: string[] = [];
    const finalLoss = await runDemo((line) => lines.push(line));
    const text = lines.join('\n');
    const grad = /grad f\(x\)\s+= (\[.*\])/.exec(text)?.[1];
    const closed = /\(closed form\)/.test(text) ? /exp\(x\)\(sin x \+ cos x\) = (\[.*?\])/.exec(text)?.[1] : undefined;
    expect(grad).toBeDefined();
    expect(grad).toBe(closed);
    // The printed gradient against the closed form computed here, in plain JS, at x = [0, 0.5, 1].
    const printed = JSON.parse(grad as string) as number[];
    [0, 0.5, 1].forEach((x, i) => expect(Math.abs(printed[i] - Math.exp(x) * (Math.sin(x) + Math.cos(x)))).toBeLessThan(1e-4));
    expect(text).toContain('reduceSum');
    expect(finalLoss).toBeLessThan(1e-10);
  });
});
