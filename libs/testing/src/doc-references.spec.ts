import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

// Code comments, scripts and docs cite the repository's own docs: `docs/<file>.md`,
// `docs/<file>.md §N` (a numbered section) or `docs/<file>.md "Heading"`. This keeps every such
// citation pointing at something that exists, and refuses the old citations of files kept outside
// the repository. A heading matches case-insensitively, and a citation may abbreviate it to a
// prefix ("Relay tickets" finds "Relay tickets and strict mode"). `§5.11a` names a list item of
// §5.11, so a trailing letter is ignored.
const root = resolve(__dirname, '../../..');
const SCANNED = ['apps', 'libs', 'scripts', 'deploy', 'bench', 'docs', 'README.md'];
const THIS_FILE = 'libs/testing/src/doc-references.spec.ts'; // its samples are broken on purpose
const OLD_REFERENCE = /(?<![\w.-])(?:RUSTDESK|ARCHITECTURE|CLIENT-API)\.md/g;
// A citation may run onto the next comment line: `docs/protocol.md\n// §2`.
const REFERENCE =
  /(?<![\w/.-])docs\/([\w.-]+\.md)(?:,?(?:\s*(?:\/\/|\*|#)?\s*)(?:§(\d+(?:\.\d+)*)|"([^"\n]+)"))?/g;

interface DocOutline {
  sections: Set<string>;
  headings: string[];
}

/** The numbered sections ("## 5. Title", "### 5.1 Title") and the headings of a Markdown file. */
function outline(markdown: string): DocOutline {
  const sections = new Set<string>();
  const headings: string[] = [];
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!heading?.[1]) continue;
    const text = heading[1].replace(/[`*_]/g, '');
    headings.push(normalise(text));
    const number = /^(\d+(?:\.\d+)*)\.?\s/.exec(text);
    if (number?.[1]) {
      sections.add(number[1]);
      headings.push(normalise(text.slice(number[0].length)));
    }
  }
  return { sections, headings };
}

/** Every citation in `text` that names a missing doc, section or heading, or an old reference. */
function brokenReferences(text: string, docs: ReadonlyMap<string, DocOutline>): string[] {
  const problems: string[] = [];
  const lineOf = (index: number): number => text.slice(0, index).split('\n').length;
  for (const match of text.matchAll(OLD_REFERENCE)) {
    problems.push(`${lineOf(match.index)}: ${match[0]} is outside the repository; cite docs/*.md`);
  }
  for (const match of text.matchAll(REFERENCE)) {
    const [cited, file, section, heading] = match;
    const doc = docs.get(file ?? '');
    const where = `${lineOf(match.index)}: ${cited.replace(/\s+/g, ' ')}`;
    if (!doc) problems.push(`${where}: no such file docs/${file}`);
    else if (section && !doc.sections.has(section)) problems.push(`${where}: no section ${section}`);
    else if (heading && !doc.headings.some((h) => h.startsWith(normalise(heading)))) {
      problems.push(`${where}: no heading "${heading}"`);
    }
  }
  return problems;
}

function normalise(heading: string): string {
  return heading.replace(/\s+/g, ' ').trim().toLowerCase();
}

describe('references to docs/*.md', () => {
  const docs = new Map([
    ['protocol.md', outline('# Wire\n## 1. Framing\n### 1.2 Frames\n```\n## 9. Not a heading\n```\n')],
    ['architecture.md', outline('# Arch\n## Flows\n### Relay tickets and strict mode\n')],
  ]);

  it('accepts existing sections and headings, whole, abbreviated or across comment lines', () => {
    const text = [
      'see docs/protocol.md §1 and docs/protocol.md §1.2 (docs/protocol.md, §1.2a)',
      '// and docs/architecture.md "relay tickets" or docs/architecture.md "Flows" and docs/protocol.md',
      '// docs/architecture.md',
      '// "Relay tickets and strict mode"',
      'docs/protocol.md "Framing"',
    ].join('\n');
    expect(brokenReferences(text, docs)).toEqual([]);
  });

  it('names each citation whose file, section or heading is missing, and each old one', () => {
    const text = [
      'docs/protocol.md §1.3',
      'docs/protocol.md §9 is only inside a code block',
      'docs/architecture.md "Scaling"',
      'docs/operations.md',
      'see protocol/RUSTDESK.md §2',
      'and ARCHITECTURE.md "Flows"',
    ].join('\n');
    expect(brokenReferences(text, docs)).toEqual([
      '5: RUSTDESK.md is outside the repository; cite docs/*.md',
      '6: ARCHITECTURE.md is outside the repository; cite docs/*.md',
      '1: docs/protocol.md §1.3: no section 1.3',
      '2: docs/protocol.md §9: no section 9',
      '3: docs/architecture.md "Scaling": no heading "Scaling"',
      '4: docs/operations.md: no such file docs/operations.md',
    ]);
  });

  it('all resolve in the repository', () => {
    const files = execFileSync('git', ['ls-files', '-z', '--', ...SCANNED], { cwd: root, encoding: 'utf8' })
      .split('\0')
      .filter((file) => file && file !== THIS_FILE);
    const docs = new Map(
      files
        .filter((file) => /^docs\/[^/]+\.md$/.test(file))
        .map((file) => [file.slice('docs/'.length), outline(readFileSync(join(root, file), 'utf8'))]),
    );
    const problems = files.flatMap((file) => {
      const text = readFileSync(join(root, file), 'utf8');
      if (text.includes('\0')) return []; // binary
      return brokenReferences(text, docs).map((problem) => `${file}:${problem}`);
    });
    expect(problems).toEqual([]);
  });
});
