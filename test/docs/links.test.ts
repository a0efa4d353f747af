/**
 * The README stays a short front door, and every relative link in the README, docs/ and the
 * examples' READMEs reaches a file that exists (and, for `page.md#anchor`, a heading of that
 * page), so moving or renaming a file cannot silently break the documentation.
 */
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');

function markdownFiles(): string[] {
  const docs =
      fs.readdirSync(path.join(root, 'docs')).filter(f => f.endsWith('.md')).map(f => `docs/${f}`);
  const examples = fs.readdirSync(path.join(root, 'examples'), {withFileTypes: true})
                       .filter(
                           d => d.isDirectory() &&
                               fs.existsSync(path.join(root, 'examples', d.name, 'README.md')))
                       .map(d => `examples/${d.name}/README.md`);
  return ['README.md', ...docs, ...examples];
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const text = fs.readFileSync(path.join(root, file), 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#+ (.*)$/gm)].map(m => anchor(m[1]!)));
}

it('the README is at most 200 lines', () => {
  const lines = fs.readFileSync(path.join(root, 'README.md'), 'utf8').trimEnd().split('\n').length;
  expect(lines).toBeLessThanOrEqual(200);
});

it('every relative link in the README, docs/ and the examples\' READMEs resolves', () => {
  const broken: string[] = [];
  let checked = 0;
  for (const file of markdownFiles()) {
    const text = fs.readFileSync(path.join(root, file), 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue;  // https:, mailto: …
      checked++;
      const [where, hash] = target!.split('#') as [string, string | undefined];
      const resolved = where === '' ?
          file :
          path.posix.normalize(path.posix.join(path.posix.dirname(file), where));
      if (!fs.existsSync(path.join(root, resolved))) {
        broken.push(`${file}: ${target} (no ${resolved})`);
      } else if (hash != null && resolved.endsWith('.md') && !anchors(resolved).has(hash)) {
        broken.push(`${file}: ${target} (no heading #${hash} in ${resolved})`);
      }
    }
  }
  expect(broken).toEqual([]);
  expect(checked).toBeGreaterThan(30);  // the pattern found the links
});

it('every page in docs/ is linked from the README', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const pages = fs.readdirSync(path.join(root, 'docs')).filter(f => f.endsWith('.md'));
  expect(pages.filter(page => !readme.includes(`](docs/${page}`))).toEqual([]);
});
