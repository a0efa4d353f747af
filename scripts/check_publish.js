/**
 * `prepublishOnly`: refuses `npm publish` while package.json lacks the fields a published
 * package needs to point its users back to the project: `repository`, `homepage` and `bugs`.
 * The project has no public address yet, so they are left out rather than filled with a made-up
 * one; set them (e.g. `npm pkg set repository.url=git+https://…`) and publishing goes ahead.
 */
'use strict';
const pkg = require('../package.json');

const missing = ['repository', 'homepage', 'bugs'].filter(field => pkg[field] == null);
if (missing.length > 0) {
  console.error(
      `npm publish: package.json has no ${missing.join(', ')}. Set them to the ` +
      `project's public address first (npm pkg set repository.url=… homepage=… bugs.url=…).`);
  process.exit(1);
}
