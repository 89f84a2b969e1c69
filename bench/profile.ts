import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package, a Roster source file, Node itself, or V8. */
function category(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url.split('/')[0] as string;
  const src = url.indexOf('/.build/');
  if (src >= 0) return `roster ${url.slice(src + '/.build/'.length)}`;
  return url;
}

/**
 * The self time of a V8 CPU profile (`node --cpu-prof`), by function and by where the
 * code lives, as percentages of the busy (non-idle) time.
 */
export function summarizeProfile(file: string, top = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const functions = new Map<string, number>();
  const categories = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, micros] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += micros;
      continue;
    }
    busy += micros;
    const where = category(url, functionName);
    const short = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${short} [${where}]`;
    functions.set(key, (functions.get(key) ?? 0) + micros);
    categories.set(where, (categories.get(where) ?? 0) + micros);
  }
  const pct = (micros: number) => `${((100 * micros) / Math.max(busy, 1)).toFixed(1).padStart(5)}%`;
  const sorted = (map: Map<string, number>, n: number) => [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
  return [
    `busy ${(busy / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s (${path.basename(file)})`,
    'self time by where the code lives:',
    ...sorted(categories, 20).map(([k, v]) => `  ${pct(v)}  ${k}`),
    `self time by function (top ${top}):`,
    ...sorted(functions, top).map(([k, v]) => `  ${pct(v)}  ${k}`),
  ].join('\n');
}

export function newestProfile(dir: string): string | undefined {
  try {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort();
    const last = files[files.length - 1];
    return last ? path.join(dir, last) : undefined;
  } catch {
    return undefined;
  }
}
