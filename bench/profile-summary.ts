/**
 * `node --import tsx bench/profile-summary.ts FILE.cpuprofile [N]`: the N functions with
 * the most self time in a `--cpu-prof` profile (what `npm run bench -- --profile DIR`
 * writes for each server process), and the share of time spent under revokit's own code.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, top = '25'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: bench/profile-summary.ts FILE.cpuprofile [N]\n');
  process.exit(2);
}
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes)
  for (const child of node.children ?? []) parent.set(child, node.id);

const self = new Map<number, number>();
profile.samples.forEach((id, i) => {
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url
    ? `${url.replace(/^.*\/(src|bench|node_modules)\//, '$1/')}:${lineNumber + 1}`
    : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
}

const selfByLabel = new Map<string, number>();
for (const [id, time] of self) {
  const key = label(byId.get(id)!);
  selfByLabel.set(key, (selfByLabel.get(key) ?? 0) + time);
}
const rows = [...selfByLabel].sort((a, b) => b[1] - a[1]).slice(0, Number(top));
const idle = selfByLabel.get('(idle)') ?? 0;
process.stdout.write(
  `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${((idle / total) * 100).toFixed(1)}% idle\n`,
);
for (const [name, time] of rows) {
  process.stdout.write(`${((time / total) * 100).toFixed(1).padStart(5)}%  ${name}\n`);
}

// Inclusive time under revokit's src/ frames, of busy time.
let underSrc = 0;
for (const [id, time] of self) {
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    if (byId.get(at)!.callFrame.url.includes('/src/')) {
      underSrc += time;
      break;
    }
  }
}
process.stdout.write(
  `under revokit src/: ${((underSrc / (total - idle)) * 100).toFixed(1)}% of busy time\n`,
);

// Inclusive time per function (a function counted once per sample, however deep it recurses).
const inclusive = new Map<string, number>();
for (const [id, time] of self) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const key = label(byId.get(at)!);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + time);
  }
}
process.stdout.write('\ninclusive, of busy time:\n');
for (const [name, time] of [...inclusive]
  .filter(([name]) => !name.startsWith('(root)') && !name.startsWith('(idle)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(top))) {
  process.stdout.write(`${((time / (total - idle)) * 100).toFixed(1).padStart(5)}%  ${name}\n`);
}
