import fs from 'node:fs';
import path from 'node:path';
import { ROSTER_EXTENSION } from '../../src/schema/resources';
import { WHO_MAY_SET, attributeReference } from '../../src/schema/reference';

const FILE = path.join(__dirname, '..', '..', 'docs', 'roster-extension.md');

describe('docs/roster-extension.md', () => {
  it('is what the generator writes from the registry (run npm run docs:reference when this fails)', () => {
    expect(fs.readFileSync(FILE, 'utf8')).toBe(attributeReference());
  });

  it('says who may set every attribute of the Roster extension, and nothing else', () => {
    const names = ROSTER_EXTENSION.attributes.map((a) => a.name);
    expect(names.filter((n) => WHO_MAY_SET[n] === undefined)).toEqual([]);
    expect(Object.keys(WHO_MAY_SET).filter((n) => !names.includes(n))).toEqual([]);
  });

  it('fails to generate when an attribute lacks a "who may set it" entry', () => {
    const added = { ...ROSTER_EXTENSION.attributes[0], name: 'somethingNew' };
    ROSTER_EXTENSION.attributes.push(added);
    try {
      expect(() => attributeReference()).toThrow(/WHO_MAY_SET has no entry for the Roster extension attribute somethingNew/);
    } finally {
      ROSTER_EXTENSION.attributes.pop();
    }
  });

  it('lists every attribute of the Roster extension with its type, mutability and description', () => {
    const text = attributeReference();
    for (const a of ROSTER_EXTENSION.attributes) {
      expect(text).toContain(`| \`${a.name}\` | ${a.type} | ${a.mutability} | ${a.returned} |`);
      if (a.description) expect(text).toContain(a.description);
    }
  });
});
