/**
 * `npm run format` formats every TypeScript and JavaScript file of the checkout with
 * clang-format (the style in .clang-format: Google's, 100 columns); `npm run format:check`
 * changes nothing and lists the files whose formatting differs (exit 1 if any).
 *
 * Files: what git tracks, plus new files git does not ignore, under src/, test/, examples/,
 * bench/ and scripts/, and the configuration files at the top.
 */
'use strict';
const {execFileSync, spawnSync} = require('child_process');
const fs = require('fs');
const path = require('path');

const clangFormat = require('clang-format');

const root = path.resolve(__dirname, '..');
const check = process.argv.includes('--check');
const unknown = process.argv.slice(2).filter(a => a !== '--check');
if (unknown.length > 0) {
  console.error(`format: unknown argument ${unknown[0]} (only --check is known)`);
  process.exit(2);
}

const files = execFileSync(
                  'git',
                  [
                    'ls-files', '--cached', '--others', '--exclude-standard', '--', 'src', 'test',
                    'examples', 'bench', 'scripts', '*.ts', '*.js', '*.mjs'
                  ],
                  {cwd: root, encoding: 'utf8'})
                  .split('\n')
                  .filter(
                      f => /\.(ts|js|mjs|cjs)$/.test(f) && !f.startsWith('test/fixtures/') &&
                          fs.existsSync(path.join(root, f)));
const binary = clangFormat.getNativeBinary();

// One clang-format run per chunk of files (starting one per file is slow).
const chunks = [];
for (let i = 0; i < files.length; i += 200) chunks.push(files.slice(i, i + 200));

if (check) {
  const differ = new Set();
  for (const chunk of chunks) {
    const result = spawnSync(
        binary, ['--style=file', '--dry-run', '--Werror', '--ferror-limit=1', ...chunk],
        {cwd: root, encoding: 'utf8', maxBuffer: 256 * 2 ** 20});
    for (const match of result.stderr.matchAll(
             /^(.+?):\d+:\d+: error: code should be clang-formatted/gm)) {
      differ.add(match[1]);
    }
    if (result.status !== 0 && differ.size === 0) {
      console.error(`format:check: clang-format failed:\n${result.stderr}`);
      process.exit(2);
    }
  }
  if (differ.size > 0) {
    console.error(
        `format:check: ${differ.size} of ${files.length} files are not formatted ` +
        `(npm run format fixes them):\n  ${[...differ].join('\n  ')}`);
    process.exit(1);
  }
  console.log(`format:check: all ${files.length} files are formatted`);
} else {
  for (const chunk of chunks) {
    execFileSync(binary, ['--style=file', '-i', ...chunk], {cwd: root, stdio: 'inherit'});
  }
  console.log(`format: ${files.length} files formatted`);
}
