/**
 * `npm publish` is refused while package.json lacks repository, homepage and bugs (the project
 * has no public address yet, and a made-up one must never reach the registry); with them set,
 * the check lets it through.
 */
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const repo = path.resolve(__dirname, '..', '..');

function check(fields: Record<string, unknown>): {status: number|null, stderr: string} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sa-publish-'));
  try {
    fs.mkdirSync(path.join(dir, 'scripts'));
    fs.copyFileSync(
        path.join(repo, 'scripts', 'check_publish.js'),
        path.join(dir, 'scripts', 'check_publish.js'));
    const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({...pkg, ...fields}));
    const result = spawnSync(
        process.execPath, [path.join(dir, 'scripts', 'check_publish.js')], {encoding: 'utf8'});
    return {status: result.status, stderr: result.stderr};
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

it('prepublishOnly runs the check', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
  expect(pkg.scripts.prepublishOnly).toBe('node scripts/check_publish.js');
});

it('refuses to publish without repository, homepage and bugs, naming what is missing', () => {
  const none = check({repository: undefined, homepage: undefined, bugs: undefined});
  expect(none.status).toBe(1);
  expect(none.stderr).toContain('package.json has no repository, homepage, bugs.');
  const one = check({repository: undefined, homepage: 'https://h', bugs: {url: 'https://b'}});
  expect(one.status).toBe(1);
  expect(one.stderr).toContain('package.json has no repository.');
});

it('lets publishing go ahead once the three are set', () => {
  expect(check({
           repository: {type: 'git', url: 'git+https://h/r.git'},
           homepage: 'https://h',
           bugs: {url: 'https://b'}
         }).status)
      .toBe(0);
});
