import { readFileSync } from 'node:fs';
import path from 'node:path';
import { heapFlags, rosterNodeFlags } from '../../bench/processes';

/**
 * Roster runs with its old generation capped (docs/operations.md, "Memory"): `npm start`,
 * the Docker image and the bench must start it alike, or the bench measures another server.
 */
describe('the V8 heap flags Roster runs with', () => {
  it('are the same for npm start, the Docker image and the bench', () => {
    const commands = readFileSync(path.join(__dirname, '..', '..', 'Dockerfile'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('CMD '));
    expect(commands).toHaveLength(1);
    expect(rosterNodeFlags()).toEqual(['--max-old-space-size=1024']);
    expect(heapFlags(commands[0] as string)).toEqual(rosterNodeFlags());
  });

  it('are read off a command line, in the forms a Dockerfile and a script write them', () => {
    expect(heapFlags('node --enable-source-maps --max-old-space-size=512 dist/src/main.js')).toEqual(['--max-old-space-size=512']);
    expect(heapFlags('CMD ["node", "--max-semi-space-size=32", "--max-old-space-size=768", "dist/src/main.js"]')).toEqual([
      '--max-semi-space-size=32',
      '--max-old-space-size=768',
    ]);
    expect(heapFlags('node --max-old-space-size dist/src/main.js')).toEqual([]);
  });
});
