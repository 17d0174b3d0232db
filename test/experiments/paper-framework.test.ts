/**
 * The reproduction framework: the SVG renderer, CSV, the learning-curve statistics, the registry and
 * `mixrl reproduce` end to end (tiny runs through the real code path: MIXRL_REPRODUCE_OVERRIDE only
 * shrinks the networks and the step counts), including refusing finished results, resuming an
 * interrupted experiment, and writing nothing partial when it fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, expectUserErrorResult, interruptWhen, runCli, TINY_RUNS } from '../cli/harness';
import { PAPER_EXPERIMENTS } from '../../src/experiments';
import { OVERRIDE_VARIABLE, trainRuns, useCliForRuns } from '../../src/experiments/paper/runs';
import { cpu } from '../../src/tensor';
import { parseCsv, tableToCsv } from '../../src/experiments/paper/csv';
import { aggregateCurves, curveArea, finalReturn, meanInterval, runCurve, stepGrid, tQuantile975 } from '../../src/experiments/paper/stats';
import { LAYOUT, renderSvg } from '../../src/experiments/paper/svg';
import type { Figure } from '../../src/experiments/paper/types';

/** A minimal well-formedness check: balanced tags, quoted attributes, no raw '<' or stray '&' in text. */
function checkXml(text: string): void {
  const body = text.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  let last = 0;
  for (const m of body.matchAll(/<[^>]*>/g)) {
    const between = body.slice(last, m.index);
    expect(between, `text before ${m[0]}`).not.toMatch(/<|&(?!(amp|lt|gt|quot|apos);)/);
    last = m.index! + m[0].length;
    const tag = m[0];
    if (tag.startsWith('</')) {
      expect(stack.pop(), `closing ${tag}`).toBe(tag.slice(2, -1).trim());
      continue;
    }
    expect(tag, 'a tag with well-formed attributes').toMatch(/^<([A-Za-z][\w:-]*)(\s+[\w:-]+="[^"<]*")*\s*\/?>$/);
    if (!tag.endsWith('/>')) stack.push(/^<([A-Za-z][\w:-]*)/.exec(tag)![1]);
  }
  expect(body.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
}

/** The (x, y) points of an SVG path's `d` ("M x y L x y ..."). */
const pathPoints = (d: string) => d.replace(/[MLZ]/g, ' ').trim().split(/\s+/).map(Number).reduce<number[][]>((acc, v, i) => (i % 2 ? (acc[acc.length - 1].push(v), acc) : (acc.push([v]), acc)), []);

const attr = (tag: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(tag)?.[1];

describe('SVG figures', () => {
  const figure: Figure = {
    id: 'f',
    title: 'Returns <SG & "MRP">',
    xLabel: 'steps',
    yLabel: 'return',
    series: [
      { name: 'SG-RP', x: [0, 50, 100], y: [0, 4, 8], lo: [0, 2, 6], hi: [1, 6, 10] },
      { name: 'a<b', x: [0, 25, 50, 75, 100], y: [1, NaN, 3, 5, 7] },
    ],
  };

  it('is well-formed, with a path per series segment, a band and a legend entry per series', () => {
    const svg = renderSvg(figure);
    checkXml(svg);
    expect(svg).toMatch(/^<\?xml version="1.0"/);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg).toContain('Returns &lt;SG &amp; &quot;MRP&quot;&gt;');
    expect(svg).not.toContain('<SG');
    // Series 2 has a NaN: its line breaks into a single point (circle) and a 3-point path.
    expect(svg.match(/<path class="series"/g)).toHaveLength(2);
    expect(svg.match(/<circle class="point"/g)).toHaveLength(1);
    expect(svg.match(/<path class="band"/g)).toHaveLength(1);
    expect(svg.match(/<g class="legend-entry">/g)).toHaveLength(2);
    expect(svg).toContain('>a&lt;b</text>');
  });

  it('draws a dashed series dashed, in the plot and in the legend', () => {
    const svg = renderSvg({ ...figure, series: [{ ...figure.series[0], dashed: true }, { name: 'solid', x: [0, 100], y: [0, 10] }] });
    checkXml(svg);
    const lines = [...svg.matchAll(/<path class="series"[^>]*>/g)].map((m) => m[0]);
    expect(lines.map((l) => attr(l, 'stroke-dasharray'))).toEqual(['6 4', undefined]);
    const legend = [...svg.matchAll(/<g class="legend-entry"><line [^>]*>/g)].map((m) => m[0]);
    expect(legend.map((l) => attr(l, 'stroke-dasharray'))).toEqual(['6 4', undefined]);
  });

  it('maps data to pixels through nice axis domains', () => {
    const svg = renderSvg(figure);
    // Independently: x data 0..100 -> ticks every 20, domain [0, 100]; y data (bands too) 0..10 -> ticks every 2, domain [0, 10].
    const { width, height, left, right, top, bottom } = LAYOUT;
    const X = (v: number) => left + (v / 100) * (width - right - left);
    const Y = (v: number) => height - bottom - (v / 10) * (height - bottom - top);
    const line = [...svg.matchAll(/<path class="series"[^>]*>/g)].map((m) => m[0]).find((t) => attr(t, 'data-series') === 'SG-RP')!;
    const points = pathPoints(attr(line, 'd')!);
    const expected = [[0, 0], [50, 4], [100, 8]].map(([x, y]) => [X(x), Y(y)]);
    expect(points).toHaveLength(3);
    points.forEach(([x, y], i) => {
      expect(x).toBeCloseTo(expected[i][0], 1);
      expect(y).toBeCloseTo(expected[i][1], 1);
    });
    const band = pathPoints(attr(/<path class="band"[^>]*>/.exec(svg)![0], 'd')!);
    // Upper edge forward, lower edge back: (100, 10) is the band's top right corner at the plot's top.
    expect(band[2][0]).toBeCloseTo(X(100), 1);
    expect(band[2][1]).toBeCloseTo(top, 1);
    const xTicks = [...svg.matchAll(/<text class="tick" x="([\d.]+)" y="[\d.]+" text-anchor="middle">([^<]*)</g)].map((m) => m[2]);
    expect(xTicks).toEqual(['0', '20', '40', '60', '80', '100']);
    const yTicks = [...svg.matchAll(/<text class="tick" x="[\d.]+" y="[\d.]+" text-anchor="end">([^<]*)</g)].map((m) => m[1]);
    expect(yTicks).toEqual(['0', '2', '4', '6', '8', '10']);
  });

  it('widens the canvas for a long legend label, the plot keeping its place', () => {
    const name = 'Gaussian (best stationary point), a label of sixty characters';
    const svg = renderSvg({ id: 'w', title: 't', xLabel: 'x', yLabel: 'y', series: [{ name, x: [0, 1], y: [0, 1] }] });
    checkXml(svg);
    const { width, right } = LAYOUT;
    // The label starts 44 px right of the plot; at about 7 px a character it needs 7 · 61 px more.
    expect(Number(attr(/<svg [^>]*>/.exec(svg)![0], 'width'))).toBeGreaterThanOrEqual(width - right + 44 + 7 * name.length);
    expect(Number(attr(/<svg [^>]*>/.exec(renderSvg(figure))![0], 'width'))).toBe(width);
  });

  it('keeps a long title on the canvas: centred when it fits, else wrapped into two lines; the plot keeps its place', () => {
    const { width, left, right, top, height, bottom } = LAYOUT;
    const titles = (svg: string) =>
      [...svg.matchAll(/<text class="title" x="([\d.]+)" y="([\d.]+)" text-anchor="middle" font-size="(\d+)">([^<]*)<\/text>/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), size: Number(m[3]), text: m[4] }));
    // fig23's and fig2-alpha's titles (114 and 94 characters; one line of 15 px text ran off both edges), and one of 200.
    const long = [
      'ShapedPendulum: total gradient variance vs training steps (mean over seeds of log10 trace, 95% bootstrap CI)',
      'Final E[r] of the best step size vs entropy scale (mean, 95% bootstrap CI over bandits x seeds)',
      `${'word '.repeat(39)}end`,
    ];
    for (const title of long) {
      const svg = renderSvg({ id: 't', title, xLabel: 'x', yLabel: 'y', series: [{ name: 's', x: [0, 1], y: [0, 1] }] });
      checkXml(svg);
      const canvas = Number(attr(/<svg [^>]*>/.exec(svg)![0], 'width'));
      const lines = titles(svg);
      expect(lines.length).toBeGreaterThanOrEqual(1);
      expect(lines.length).toBeLessThanOrEqual(2);
      expect(lines.map((l) => l.text).join(' ')).toBe(title);
      for (const l of lines) {
        // At about 7/12 em a character (the legend's estimate), the line lies inside the canvas, above the plot.
        const half = (l.text.length * (7 / 12) * l.size) / 2;
        expect(l.x - half).toBeGreaterThanOrEqual(0);
        expect(l.x + half).toBeLessThanOrEqual(canvas);
        expect(l.y).toBeGreaterThan(l.size - 4);
        expect(l.y).toBeLessThan(top);
      }
      if (lines.length === 2) expect(lines[1].y - lines[0].y).toBeGreaterThanOrEqual(lines[0].size);
      expect(svg).toContain(`<rect x="${left}" y="${top}" width="${width - right - left}" height="${height - bottom - top}" fill="none"`);
    }
    // A short title stays one 15 px line centred over the plot.
    expect(titles(renderSvg(figure))).toEqual([{ x: (left + width - right) / 2, y: top / 2 + 4, size: 15, text: 'Returns &lt;SG &amp; &quot;MRP&quot;&gt;' }]);
  });

  it('spaces decades evenly on a log x axis', () => {
    const svg = renderSvg({ id: 'l', title: 't', xLabel: 'alpha', yLabel: 'y', xLog: true, series: [{ name: 's', x: [0.001, 0.01, 0.1, 1], y: [1, 2, 3, 4] }] });
    checkXml(svg);
    const ticks = [...svg.matchAll(/<text class="tick" x="([\d.]+)" y="[\d.]+" text-anchor="middle">([^<]*)</g)];
    expect(ticks.map((m) => m[2])).toEqual(['0.001', '0.01', '0.1', '1']);
    const { width, left, right } = LAYOUT;
    const xs = ticks.map((m) => Number(m[1]));
    // 10^-3 .. 10^0 over the plot's width: a decade is a third of it.
    xs.forEach((x, i) => expect(x).toBeCloseTo(left + (i / 3) * (width - right - left), 1));
    const points = pathPoints(attr(/<path class="series"[^>]*>/.exec(svg)![0], 'd')!);
    expect(points.map((p) => p[0])).toEqual(xs);
  });
});

describe('CSV', () => {
  it('quotes what needs quoting and reads back the same fields', () => {
    const rows = [
      ['plain', 'a,b', 'say "hi"', 'two\nlines', ' padded', 'crlf\r\nend'],
      [0.1, 1e-7, -3, NaN, Infinity, 12345678.9],
    ];
    const csv = tableToCsv({ id: 't', title: 'T', columns: ['c1', 'c,2', 'c3', 'c4', 'c5', 'c6'], rows });
    expect(csv.split('\n')[0]).toBe('c1,"c,2",c3,c4,c5,c6');
    expect(csv).toContain('"say ""hi"""');
    expect(parseCsv(csv)).toEqual([
      ['c1', 'c,2', 'c3', 'c4', 'c5', 'c6'],
      ['plain', 'a,b', 'say "hi"', 'two\nlines', ' padded', 'crlf\r\nend'],
      ['0.1', '1e-7', '-3', '', '', '12345678.9'],
    ]);
  });
});

describe('learning-curve statistics', () => {
  it('t quantiles: table values and the large-df expansion', () => {
    expect(tQuantile975(1)).toBeCloseTo(12.7062, 4);
    expect(tQuantile975(4)).toBeCloseTo(2.7764, 4);
    expect(tQuantile975(60)).toBeCloseTo(2.0003, 3);
    expect(tQuantile975(120)).toBeCloseTo(1.9799, 3);
  });

  it('bins episodes on a grid and averages seeds with a 95% t-interval', () => {
    const a = [{ step: 50, return: 1 }, { step: 100, return: 3 }, { step: 250, return: 5 }];
    const b = [{ step: 150, return: 4 }, { step: 300, return: 6 }];
    const grid = stepGrid(300, 3);
    expect(grid).toEqual([100, 200, 300]);
    // By hand: a = [mean(1, 3), last 3, 5], b = [none yet, 4, 6].
    expect(runCurve(a, grid)).toEqual([2, 3, 5]);
    expect(runCurve(b, grid)).toEqual([NaN, 4, 6]);
    const c = aggregateCurves([a, b], grid);
    expect(c.mean).toEqual([2, 3.5, 5.5]);
    // Two seeds: s = 0.5 * sqrt(2), half-width t(0.975, 1) * s / sqrt(2) = 12.706205 * 0.5.
    const half = 12.706205 * 0.5;
    // One seed at the first point: a mean without an interval.
    expect(c.lo[0]).toBeNaN();
    expect(c.hi[0]).toBeNaN();
    expect(meanInterval([5, NaN])).toEqual({ n: 1, mean: 5, lo: NaN, hi: NaN });
    expect(c.lo[1]).toBeCloseTo(3.5 - half, 5);
    expect(c.hi[2]).toBeCloseTo(5.5 + half, 5);
    expect(curveArea(runCurve(a, grid))).toBeCloseTo(10 / 3, 12);
    expect(curveArea(runCurve(b, grid))).toBe(5);
    const three = meanInterval([1, 2, 3]);
    expect(three.mean).toBe(2);
    expect(three.hi - three.mean).toBeCloseTo(4.302653 / Math.sqrt(3), 5);
    // The last 10% of 300 steps is (270, 300]: a has no episode there (its last, 5), b has 6.
    expect(finalReturn(a, 300)).toBe(5);
    expect(finalReturn(b, 300)).toBe(6);
    expect(finalReturn([], 300)).toBeNaN();
  });
});

describe('an experiment called from the library', () => {
  it('trains its runs in this process without the CLI, and reads finished ones back', async () => {
    const workDir = mkdtempSync(path.join(tmpdir(), 'mixrl-paper-lib-'));
    const before = process.env[OVERRIDE_VARIABLE];
    process.env[OVERRIDE_VARIABLE] = JSON.stringify({ steps: 400, hidden: [8, 8], batchSize: 8, learningStarts: 50, components: 2 });
    try {
      const lines: string[] = [];
      const ctx = { scale: 'quick' as const, seeds: [3], backend: cpu, workDir, log: (l: string) => lines.push(l) };
      const first = await PAPER_EXPERIMENTS['fig6-classic'].run(ctx);
      expect(readdirSync(workDir).sort()).toEqual(['Pendulum-sg-rp-seed3', 'Pendulum-sgm-mrp-seed3', 'ShapedPendulum-sg-rp-seed3', 'ShapedPendulum-sgm-mrp-seed3']);
      const dir = path.join(workDir, 'Pendulum-sg-rp-seed3');
      expect(readdirSync(dir).sort()).toEqual(['checkpoint.mixrl', 'config.json', 'episodes.jsonl', 'summary.json']);
      expect(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'))).toMatchObject({ env: 'Pendulum', agent: 'sg-rp', seed: 3, steps: 400, hidden: [8, 8] });
      expect(JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'))).toMatchObject({ steps: 400, episodes: 2, finished: true });
      expect(first.tables[0].rows).toHaveLength(4);
      lines.length = 0;
      const second = await PAPER_EXPERIMENTS['fig6-classic'].run(ctx);
      expect(lines.filter((l) => /finished before, reused/.test(l))).toHaveLength(4);
      expect(second.tables).toEqual(first.tables);
    } finally {
      if (before === undefined) delete process.env[OVERRIDE_VARIABLE];
      else process.env[OVERRIDE_VARIABLE] = before;
    }
  });
});

describe('runs of a setting together in this process', () => {
  it('gives the tables and run files of runs trained alone', async () => {
    const before = process.env[OVERRIDE_VARIABLE];
    process.env[OVERRIDE_VARIABLE] = JSON.stringify({ steps: 400, hidden: [8, 8], batchSize: 8, learningStarts: 50, components: 2, checkpointEvery: 100 });
    try {
      const results = [];
      const dirs = [];
      for (const together of [1, 2]) {
        const workDir = mkdtempSync(path.join(tmpdir(), `mixrl-paper-together${together}-`));
        const lines: string[] = [];
        results.push(await PAPER_EXPERIMENTS['fig6-classic'].run({ scale: 'quick', seeds: [3, 4], backend: cpu, workDir, together, log: (l: string) => lines.push(l) }));
        expect(lines.filter((l) => /\(2 runs together\)/.test(l)), lines.join('\n')).toHaveLength(together === 2 ? 8 : 0);
        dirs.push(workDir);
      }
      expect(results[1].tables).toEqual(results[0].tables);
      for (const file of ['episodes.jsonl', 'checkpoint.mixrl']) {
        expect(readFileSync(path.join(dirs[1], 'Pendulum-sgm-mrp-seed4', file)).equals(readFileSync(path.join(dirs[0], 'Pendulum-sgm-mrp-seed4', file))), file).toBe(true);
      }
    } finally {
      if (before === undefined) delete process.env[OVERRIDE_VARIABLE];
      else process.env[OVERRIDE_VARIABLE] = before;
    }
  });
});

describe('training runs as child processes', () => {
  it("says how a run failed: its exit code and last line, or the signal that killed it (no 'exit null')", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mixrl-children-'));
    const spec = { name: 'r', config: { env: 'Pendulum', agent: 'sg-rp' as const, seed: 0, steps: 10 } };
    const ctx = { scale: 'quick' as const, seeds: [0], backend: cpu, workDir: dir, log: () => {} };
    // Stand-ins for `mixrl train`: one dies as the OOM killer would end it, one fails by itself.
    writeFileSync(path.join(dir, 'killed.mjs'), "process.kill(process.pid, 'SIGKILL');\n");
    writeFileSync(path.join(dir, 'fails.mjs'), "console.error('first');\nconsole.error('mixrl train: the last line');\nprocess.exit(3);\n");
    try {
      useCliForRuns(process.execPath, [path.join(dir, 'killed.mjs')]);
      await expect(trainRuns(ctx, [spec])).rejects.toThrow(/^run r failed \(killed by SIGKILL\): $/);
      useCliForRuns(process.execPath, [path.join(dir, 'fails.mjs')]);
      await expect(trainRuns(ctx, [spec])).rejects.toThrow(/^run r failed \(exit 3\): mixrl train: the last line$/);
    } finally {
      useCliForRuns(null);
    }
  });

  it('takes the runs of a group that finished beside one that diverged (the child exits 2) as outcomes, not failures', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mixrl-group-'));
    // A stand-in `mixrl train --resume DIR DIR` (the parent started both runs): the first diverges, the second finishes.
    writeFileSync(
      path.join(dir, 'group.mjs'),
      `import { writeFileSync } from 'node:fs';
const args = process.argv.slice(2);
const dirs = args.slice(args.indexOf('--resume') + 1).filter((a) => !a.startsWith('--'));
dirs.forEach((out, i) => {
  writeFileSync(out + '/episodes.jsonl', '{"episode":0,"step":5,"return":-1,"length":5,"terminated":false}\\n');
  writeFileSync(out + '/summary.json', JSON.stringify(i === 0 ? { finished: false, diverged: 'step 3: NaN' } : { finished: true }));
});
console.error('mixrl train: 1 of 2 runs diverged (the others finished)');
process.exit(2);
`,
    );
    // Two settings of a sweep (α and the critic's learning rate apart) train together; a third, with another tau, alone.
    const specs = [
      { name: 'a-seed0', config: { env: 'Pendulum', agent: 'sg-rp' as const, seed: 0, steps: 10, alpha: 0.1, criticLr: 1e-3 } },
      { name: 'b-seed0', config: { env: 'Pendulum', agent: 'sg-rp' as const, seed: 0, steps: 10, alpha: 1, criticLr: 1e-4 } },
      { name: 'c-seed0', config: { env: 'Pendulum', agent: 'sg-rp' as const, seed: 0, steps: 10, alpha: 1, criticLr: 1e-4, tau: 0.5 } },
    ];
    const lines: string[] = [];
    const given: string[][] = [];
    try {
      useCliForRuns(process.execPath, [path.join(dir, 'group.mjs')]);
      const outcomes = await trainRuns({ backend: cpu, workDir: dir, together: 10, log: (l) => lines.push(l) }, specs.slice(0, 2));
      expect(outcomes.map((o) => o.diverged)).toEqual(['step 3: NaN', undefined]);
      expect(outcomes.map((o) => o.episodes.length)).toEqual([1, 1]);
      expect(lines[1]).toMatch(/^\[2\/2\] b-seed0: trained in [\d.]+ s \(2 runs together\); 1 episodes, mean return of the last 10 -1\.00$/);
      // The parent started both as `mixrl train` would, up to a step-0 checkpoint, for the child to resume.
      expect(JSON.parse(readFileSync(path.join(dir, 'b-seed0', 'config.json'), 'utf8'))).toMatchObject({ alpha: 1, criticLr: 1e-4, seed: 0, backend: 'cpu' });
      expect(existsSync(path.join(dir, 'b-seed0', 'checkpoint.mixrl'))).toBe(true);
      // Another key apart: two children, one run each (the second a plain new run: --out, not --resume).
      writeFileSync(path.join(dir, 'args.mjs'), `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(path.join(dir, 'args.txt'))}, process.argv.slice(2).join(' ') + '\\n');\nprocess.exit(3);\n`);
      useCliForRuns(process.execPath, [path.join(dir, 'args.mjs')]);
      await expect(trainRuns({ backend: cpu, workDir: dir, together: 10, log: () => {} }, specs.slice(2))).rejects.toThrow(/^run c-seed0 failed \(exit 3\)/);
      given.push(...readFileSync(path.join(dir, 'args.txt'), 'utf8').trim().split('\n').map((l) => l.split(' ')));
      expect(given).toHaveLength(1);
      expect(given[0].slice(0, 3)).toEqual(['train', '--out', path.join(dir, 'c-seed0')]);
    } finally {
      useCliForRuns(null);
    }
  });
});

describe('mixrl reproduce', () => {
  let cli = '';
  let work = '';
  const TINY = TINY_RUNS;

  beforeAll(() => {
    ({ cli, work } = bundleCli('mixrl-reproduce-'));
  });

  const run = (args: string[], env: Record<string, string> = {}) => runCli(cli, work, ['reproduce', ...args], env);
  const expectUserError = expectUserErrorResult;
  /** Every file under `dir`, relative. */
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));

  it('the registry and --list', () => {
    for (const name of ['fig1-stationary', 'fig2-bandits', 'fig6-classic', 'fig8-estimators', 'fig23-variance', 'table4-overhead']) {
      expect(PAPER_EXPERIMENTS[name].name).toBe(name);
    }
    for (const [key, e] of Object.entries(PAPER_EXPERIMENTS)) {
      expect(e.name).toBe(key);
      expect(e.defaultSeeds.quick).toBeGreaterThan(0);
      expect(e.defaultSeeds.paper).toBeGreaterThanOrEqual(e.defaultSeeds.quick);
    }
    const r = run(['--list']);
    expect(r.code, r.stderr).toBe(0);
    const heads = r.stdout.split('\n').filter((l) => l && !l.startsWith(' '));
    expect(heads.map((l) => l.split(/\s+/)[0])).toEqual(Object.keys(PAPER_EXPERIMENTS));
    expect(r.stdout).toMatch(/^fig6-classic +Fig\. 6 and Fig\. 16 \(Sec\. 5\.3\); seeds: quick 2, paper 10$/m);
    expect(r.stdout).toMatch(/^table4-overhead +Table 4 \(App\. E\.2\); seeds: quick 1, paper 1$/m);
    expectUserError(run(['fig99']), /^mixrl reproduce: unknown experiment 'fig99'; known experiments: .*fig6-classic.*fig8-estimators.*table4-overhead/);
    expectUserError(run(['fig6-classic', '--scale', 'huge']), /^mixrl reproduce: flag --scale must be quick or paper, got 'huge'$/);
    expectUserError(run(['fig6-classic', '--seeds', '0']), /--seeds must be a positive integer/);
    expectUserError(run(['fig6-classic', '--jobz', '2']), /^mixrl reproduce: unknown flag --jobz; known flags: /);
    expectUserError(run([]), /^mixrl reproduce: name an experiment/);
  });

  it('table4-overhead at quick scale: the table, relative to SG-RP', () => {
    const r = run(['table4-overhead', '--out', 't4']);
    expect(r.code, r.stderr).toBe(0);
    const out = path.join(work, 't4');
    expect(files(out).sort()).toEqual(['findings.md', 'reproduce.json', 'results.json', 'table4.csv']);
    const rows = parseCsv(readFileSync(path.join(out, 'table4.csv'), 'utf8'));
    expect(rows[0].slice(0, 5)).toEqual(['agent', 'update_ms', 'update_vs_sg_rp', 'action_us', 'action_vs_sg_rp']);
    expect(rows.slice(1).map((row) => row[0])).toEqual(['SG-RP', 'USGM-RP', 'SGM-MRP', 'SGM-HalfRP', 'SGM-GumbelRP']);
    expect(rows[1].slice(1)).toEqual(expect.arrayContaining(['1']));
    for (const row of rows.slice(1)) {
      for (const col of [1, 2, 3, 4, 5, 6]) expect(Number(row[col])).toBeGreaterThan(0);
      // The update ratio is the update time over SG-RP's (to the 3 decimals written).
      expect(Number(row[2])).toBeCloseTo(Number(row[1]) / Number(rows[1][1]), 1);
    }
    expect(rows[3][7]).toBe(String(Number((455 / 317).toFixed(3))));
    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(results).toMatchObject({ experiment: 'table4-overhead', paperRef: 'Table 4 (App. E.2)', mixrlVersion: expect.any(String), continued: false, options: { scale: 'quick', seeds: [0], jobs: 1, backend: 'cpu', out: 't4' } });
    expect(results.tables[0].rows).toHaveLength(5);
    expect(results.findings.length).toBeGreaterThan(0);
    expect(readFileSync(path.join(out, 'findings.md'), 'utf8')).toMatch(/^# table4-overhead: Table 4/);
  });

  it('fig6 (tiny runs): interrupted, resumed with finished runs reused, results written last and atomically, finished results refused', async () => {
    const env = { MIXRL_REPRODUCE_OVERRIDE: TINY };
    const out = path.join(work, 'f6');
    const runDir = (name: string) => path.join(out, 'runs', name);
    // Interrupt once the first run is done and the second has a checkpoint.
    const ready = (out: string) => /\[1\/4\]/.test(out) && existsSync(path.join(runDir('Pendulum-sgm-mrp-seed0'), 'checkpoint.mixrl'));
    const { code, output: stdout } = await interruptWhen(cli, work, ['reproduce', 'fig6-classic', '--seeds', '1', '--out', 'f6'], ready, { env });
    expect(code, stdout).toBe(130);
    // The command to continue names every option that decides what runs: here --seeds 1, not the default 2.
    expect(stdout).toContain('stopped by SIGINT: 1 of 4 runs finished; continue with the same command: mixrl reproduce fig6-classic --scale quick --seeds 1 --jobs 1 --backend cpu --out f6\n');
    expect(existsSync(path.join(out, 'results.json'))).toBe(false);
    const firstSummary = readFileSync(path.join(runDir('Pendulum-sg-rp-seed0'), 'summary.json'), 'utf8');
    expect(JSON.parse(firstSummary).finished).toBe(true);
    expect(JSON.parse(readFileSync(path.join(runDir('Pendulum-sgm-mrp-seed0'), 'summary.json'), 'utf8')).finished).toBe(false);

    // A folder where a table goes: the runs finish, writing the results fails, nothing partial is left.
    mkdirSync(path.join(out, 'fig6-summary.csv'));
    const failed = run(['fig6-classic', '--seeds', '1', '--out', 'f6', '--jobs', '2'], env);
    expectUserError(failed, /^mixrl reproduce: --out f6: cannot write the results: /);
    expect(failed.stdout).toMatch(/\[1\/4\] Pendulum-sg-rp-seed0: finished before, reused/);
    expect(failed.stdout).toMatch(/Pendulum-sgm-mrp-seed0: resumed and trained/);
    expect(files(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(path.join(out, 'results.json'))).toBe(false);
    rmdirSync(path.join(out, 'fig6-summary.csv'));

    const done = run(['fig6-classic', '--seeds', '1', '--out', 'f6'], env);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout.match(/finished before, reused/g)).toHaveLength(4);
    expect(readFileSync(path.join(runDir('Pendulum-sg-rp-seed0'), 'summary.json'), 'utf8')).toBe(firstSummary);
    const top = readdirSync(out).sort();
    expect(top).toEqual(['fig16-ShapedPendulum.svg', 'fig6-Pendulum.svg', 'fig6-summary.csv', 'findings.md', 'reproduce.json', 'results.json', 'runs']);
    const rows = parseCsv(readFileSync(path.join(out, 'fig6-summary.csv'), 'utf8'));
    expect(rows.slice(1).map((r) => `${r[0]}/${r[2]}/${r[3]}`)).toEqual(['Pendulum/SG-RP/1', 'Pendulum/SGM-MRP/1', 'ShapedPendulum/SG-RP/1', 'ShapedPendulum/SGM-MRP/1']);
    // One seed: the area is that run's curve's mean, recomputed here from its episodes (grid of 10 points).
    const episodes = readFileSync(path.join(runDir('ShapedPendulum-sg-rp-seed0'), 'episodes.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(episodes).toHaveLength(10);
    const grid = Array.from({ length: 10 }, (_, i) => (i + 1) * 200);
    const byHand = grid.map((x) => episodes.filter((e) => e.step <= x).at(-1)?.return ?? NaN).filter(Number.isFinite);
    expect(Number(rows[3][4])).toBeCloseTo(byHand.reduce((s, v) => s + v, 0) / byHand.length, 0);
    for (const svg of ['fig6-Pendulum.svg', 'fig16-ShapedPendulum.svg']) {
      const text = readFileSync(path.join(out, svg), 'utf8');
      checkXml(text);
      expect(text.match(/<g class="legend-entry">/g)).toHaveLength(2);
    }
    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(results.options).toMatchObject({ experiment: 'fig6-classic', scale: 'quick', seeds: [0], override: JSON.parse(TINY) });
    // One seed has no interval: the findings do not say that intervals overlap (they did).
    expect(results.findings[0]).toMatch(/^Pendulum \(unshaped\): area under the curve SGM-MRP \S+ vs SG-RP \S+: (higher|lower or equal) \(one seed: no 95% interval\)\.$/);
    // The quick-scale caveat counts the seeds that ran (it said "2 seeds" whatever --seeds was).
    expect(results.findings.at(-1)).toBe("Quick scale: a few thousand steps and 1 seed show that the pipeline works, not the paper's result.");
    expect(results.figures.map((f: Figure) => f.id)).toEqual(['fig6-Pendulum', 'fig16-ShapedPendulum']);
    expect(readFileSync(path.join(out, 'findings.md'), 'utf8')).toContain('Fig. 6 and Fig. 16');
    expect(readFileSync(path.join(out, 'findings.md'), 'utf8')).toContain(`Runs overridden by MIXRL_REPRODUCE_OVERRIDE=${TINY} (not the protocol's settings).`);
    // Its time is the finishing command's only, and says so (it was "1 s" with no word of the runs before).
    expect(results.continued).toBe(true);
    expect(readFileSync(path.join(out, 'findings.md'), 'utf8')).toMatch(/, \d+ s in the command that finished it, which continued an interrupted one /);

    expectUserError(run(['fig6-classic', '--seeds', '1', '--out', 'f6'], env), /^mixrl reproduce: --out f6 already holds finished results \(results\.json\)/);
    expectUserError(run(['table4-overhead', '--out', 'f6/runs']), /^mixrl reproduce: --out f6\/runs is a folder holding other files/);
  });

  it('fig6 (tiny runs) with the seeds of a setting trained together, interrupted and continued: the results of runs trained alone', async () => {
    const env = { MIXRL_REPRODUCE_OVERRIDE: TINY };
    // Stopped once the group's last run has finished an episode (its folder starts with a step-0 checkpoint).
    const episodes = path.join(work, 'g3', 'runs', 'Pendulum-sgm-mrp-seed2', 'episodes.jsonl');
    const started = () => existsSync(episodes) && readFileSync(episodes, 'utf8').length > 0;
    const { code, output: stdout } = await interruptWhen(cli, work, ['reproduce', 'fig6-classic', '--seeds', '3', '--jobs', '2', '--out', 'g3'], started, { env });
    expect(code, stdout).toBe(130);
    const continued = run(['fig6-classic', '--seeds', '3', '--jobs', '2', '--out', 'g3'], env);
    expect(continued.code, continued.stderr).toBe(0);
    expect(continued.stdout, stdout).toMatch(/Pendulum-sgm-mrp-seed1: resumed and trained in [\d.]+ s \(3 runs together\)/);
    const alone = run(['fig6-classic', '--seeds', '3', '--jobs', '2', '--together', '1', '--out', 'g1'], env);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stdout).not.toMatch(/together/);
    expect(readFileSync(path.join(work, 'g3', 'fig6-summary.csv'), 'utf8')).toBe(readFileSync(path.join(work, 'g1', 'fig6-summary.csv'), 'utf8'));
    for (const name of ['Pendulum-sgm-mrp-seed1', 'ShapedPendulum-sg-rp-seed2']) {
      for (const file of ['episodes.jsonl', 'checkpoint.mixrl']) {
        expect(readFileSync(path.join(work, 'g3', 'runs', name, file)).equals(readFileSync(path.join(work, 'g1', 'runs', name, file))), `${name} ${file}`).toBe(true);
      }
    }
    expect(JSON.parse(readFileSync(path.join(work, 'g1', 'results.json'), 'utf8')).options.together).toBe(1);
    expectUserError(run(['fig6-classic', '--together', '0', '--out', 'g0']), /^mixrl reproduce: flag --together must be a positive integer, got 0$/);
  });

  it('refuses to continue an unfinished folder with other seeds or another backend, naming the command that continues it', () => {
    // A folder as an interrupted `mixrl reproduce fig6-classic --seeds 3 --out 'my f6'` leaves it (runs/ still empty).
    const out = path.join(work, 'my f6');
    mkdirSync(path.join(out, 'runs'), { recursive: true });
    const started = { experiment: 'fig6-classic', scale: 'quick', seeds: [0, 1, 2], jobs: 2, out: 'my f6', backend: 'cpu' };
    writeFileSync(path.join(out, 'reproduce.json'), JSON.stringify(started));
    const env = { MIXRL_REPRODUCE_OVERRIDE: JSON.stringify({ steps: 100, hidden: [4], batchSize: 4, learningStarts: 20 }) };
    const hint = "continue it with mixrl reproduce fig6-classic --scale quick --seeds 3 --jobs 2 --backend cpu --out 'my f6', or choose another --out";
    const refused = `mixrl reproduce: --out my f6 holds an unfinished fig6-classic (quick scale, 3 seeds, cpu); ${hint}`;
    for (const args of [[], ['--seeds', '2'], ['--seeds', '4'], ['--seeds', '3', '--backend', 'webgpu'], ['--scale', 'paper', '--seeds', '3']]) {
      const r = run(['fig6-classic', '--out', 'my f6', ...args], env);
      expect(r.code, `${args.join(' ')}: ${r.stdout}`).toBe(2);
      expect(r.stderr.trim()).toBe(refused);
    }
    expect(readdirSync(path.join(out, 'runs'))).toEqual([]);
    // A reproduce.json that is not one of ours (fields missing) is a foreign file, not an experiment.
    writeFileSync(path.join(out, 'reproduce.json'), JSON.stringify({ experiment: 'fig6-classic' }));
    expectUserError(run(['fig6-classic', '--out', 'my f6'], env), /^mixrl reproduce: --out my f6 is a folder holding other files \((reproduce\.json, runs|runs, reproduce\.json)\)/);
  });

  it('refuses a folder another running reproduce holds, and takes over the lock of one that was killed', () => {
    const out = path.join(work, 'locked');
    mkdirSync(out);
    writeFileSync(path.join(out, 'reproduce.json'), JSON.stringify({ experiment: 'fig23-variance', scale: 'quick', seeds: [0], jobs: 1, out: 'locked', backend: 'cpu' }));
    // This test's own process stands for a reproduce still running there.
    writeFileSync(path.join(out, 'reproduce.lock'), `${process.pid}\n`);
    expectUserError(run(['fig23-variance', '--out', 'locked']), new RegExp(`^mixrl reproduce: --out locked is in use by another mixrl reproduce \\(process ${process.pid}\\); `));
    expect(readdirSync(out).sort()).toEqual(['reproduce.json', 'reproduce.lock']);
    // A lock whose process has ended (killed before it could remove it) does not stop a rerun.
    const ended = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(path.join(out, 'reproduce.lock'), `${ended}\n`);
    // With the test override set: fig23 trains no `mixrl train` runs, so its findings do not claim the override changed them.
    const r = run(['fig23-variance', '--out', 'locked'], { MIXRL_REPRODUCE_OVERRIDE: '{"steps":100}' });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(out, 'findings.md'), 'utf8')).not.toContain('overridden');
    expect(r.stdout).toMatch(/^continuing fig23-variance/);
    expect(readdirSync(out).sort()).toEqual(['fig23-ShapedPendulum.svg', 'fig23-variance.csv', 'findings.md', 'reproduce.json', 'results.json']);
  });

  it("describes fig2-bandits' saved parts as parts, not as training runs the override changed", () => {
    const r = run(['fig2-bandits', '--out', 'fig2-parts'], { MIXRL_REPRODUCE_OVERRIDE: '{"steps":100}' });
    expect(r.code, r.stderr).toBe(0);
    const findings = readFileSync(path.join(work, 'fig2-parts', 'findings.md'), 'utf8');
    expect(findings).toContain('- `runs/`: the parts of the work it saved as it went (read back when it is run again in this folder)');
    expect(findings).not.toContain('mixrl train --resume');
    expect(findings).not.toContain('overridden');
  });

  it.skipIf(!existsSync('/proc/self'))('refuses an --out under /proc at once (it hung in Node\'s recursive mkdir)', () => {
    const r = spawnSync(process.execPath, [cli, 'reproduce', 'fig23-variance', '--out', '/proc/mixrl-no-such/out'], { cwd: work, encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim()).toBe('mixrl reproduce: --out /proc/mixrl-no-such/out: cannot write there: ENOENT');
  });

  it('a failing run stops the experiment with one line and no result files', () => {
    const r = run(['fig6-classic', '--seeds', '1', '--out', 'bad'], { MIXRL_REPRODUCE_OVERRIDE: JSON.stringify({ steps: 100, batchSize: 200_000 }) });
    expectUserError(r, /^mixrl reproduce: run Pendulum-sg-rp-seed0 failed \(exit 2\): mixrl train: .*'batchSize' \(200000\) exceeds 'replayCapacity'/);
    expect(files(path.join(work, 'bad'))).toEqual(['reproduce.json']);
    expectUserError(run(['fig6-classic'], { MIXRL_REPRODUCE_OVERRIDE: '{"stepz": 3}' }), /^mixrl reproduce: MIXRL_REPRODUCE_OVERRIDE: unknown key 'stepz'/);
  });
});
