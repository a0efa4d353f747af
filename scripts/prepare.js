/**
 * `prepare`: builds the package when it has no build yet. npm runs it when a project installs
 * the package from a git URL (the clone has no dist/), and after `npm ci` / `npm install` in a
 * fresh checkout. `npm pack` and `npm publish` always build afresh, in `prepack`.
 */
'use strict';
const {execSync} = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
if (!fs.existsSync(path.join(root, 'dist', 'cjs', 'index.js'))) {
  execSync('npm run build', {cwd: root, stdio: 'inherit'});
}
