import fs from 'node:fs';
import path from 'node:path';
import { COMMANDS } from '../../src/cli/commands';
import { USAGE } from '../../src/cli/usage';
import { CONFIG_VARIABLES } from '../../src/config';

/** The README must keep saying what the code does: these fail when one changes without the other. */
const README = fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');

/** The text of the section under `## <title>`, up to the next `## ` heading. */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README.md has no section "## ${title}"`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** The first column of every row of the section's tables, without its backquotes (`\|` read as `|`). */
function firstColumn(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const match = /^\| `((?:[^`])+)` \|/.exec(line);
      if (!match) throw new Error(`a table row whose first cell is not one code span: ${line}`);
      return match[1].replace(/\\\|/g, '|');
    });
}

/** The commands `roster --help` lists: each line under "commands:" up to the first blank line, without its explanation. */
function usageCommands(): string[] {
  const lines = USAGE.split('\n');
  const first = lines.indexOf('commands:') + 1;
  const last = lines.indexOf('', first);
  return lines
    .slice(first, last)
    .filter((line) => /^ {2}\S/.test(line))
    .map((line) => line.trim().split(/\s{2,}/)[0]);
}

/** The words that name a command: those before its first argument or option. */
const words = (synopsis: string) => synopsis.split(' ').filter((w, i, all) => all.slice(0, i + 1).every((x) => /^[a-z][a-z-]*$/.test(x)));

describe("README's configuration table", () => {
  it('lists exactly the variables the configuration accepts, each once', () => {
    const listed = firstColumn(section('Configuration'));
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });
});

describe("README's command-line table", () => {
  it('lists exactly the commands `roster --help` prints, in its order and with its options', () => {
    expect(firstColumn(section('Command line'))).toEqual(usageCommands());
  });

  it('and `roster --help` lists every command the CLI runs, once', () => {
    const listed = usageCommands().map((synopsis) => words(synopsis).join(' '));
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(COMMANDS.map((command) => command.words.join(' ')).sort());
  });
});
