/**
 * Builds the web console (console/: plain TypeScript, no framework) into dist/console:
 * one script and one stylesheet, minified, their names carrying a hash of their content
 * (cached for good), and index.html pointing at them. esbuild, from node_modules: no
 * network, no CDN. `npm run build` runs it (and `npm start` runs the build).
 *   tsx tools/build-console.ts [outdir]
 */
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = path.resolve(__dirname, '..');
export const CONSOLE_OUT = path.join(ROOT, 'dist', 'console');

export interface BuiltConsole {
  dir: string;
  /** The files index.html loads, relative to `dir`. */
  script: string;
  stylesheet: string;
  /** What a first load transfers of JavaScript, gzipped. */
  scriptGzipBytes: number;
}

export async function buildConsole(outdir: string = CONSOLE_OUT): Promise<BuiltConsole> {
  fs.rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    entryPoints: [
      { in: path.join(ROOT, 'console', 'src', 'main.ts'), out: 'app' },
      { in: path.join(ROOT, 'console', 'style.css'), out: 'style' },
    ],
    outdir,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.relative(outdir, path.resolve(process.cwd(), file)));
  const script = outputs.find((f) => f.endsWith('.js'));
  const stylesheet = outputs.find((f) => f.endsWith('.css'));
  if (!script || !stylesheet) throw new Error(`the console build wrote ${outputs.join(', ')}`);
  const template = fs.readFileSync(path.join(ROOT, 'console', 'index.html'), 'utf8');
  fs.writeFileSync(path.join(outdir, 'index.html'), template.replace('{{js}}', script).replace('{{css}}', stylesheet));
  const scriptGzipBytes = gzipSync(fs.readFileSync(path.join(outdir, script)), { level: 9 }).length;
  return { dir: outdir, script, stylesheet, scriptGzipBytes };
}

if (require.main === module) {
  buildConsole(process.argv[2] ? path.resolve(process.argv[2]) : undefined)
    .then((built) =>
      process.stderr.write(
        `console built in ${path.relative(ROOT, built.dir)}: ${built.script} (${(built.scriptGzipBytes / 1024).toFixed(1)} KB gzipped), ${built.stylesheet}\n`,
      ),
    )
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
