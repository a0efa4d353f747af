/**
 * The TypeScript examples in the doc comments of src/ (what the API reference and an editor's
 * hover show) compile against the package's own exports, strict, as a user would paste them:
 * each ```ts block in a function of its own (its `import` lines above it, at the top of the
 * file), with `tf` and every export of src/index.ts in scope, and a trained `model` with its
 * data (`xs`, `ys`, `valXs`, `valYs`) declared.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as ts from 'typescript';

const root = path.resolve(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, {withFileTypes: true}).flatMap(entry => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every ```ts block inside a /** comment, with where it is. */
function examples(): Array<{where: string, code: string}> {
  const found: Array<{where: string, code: string}> = [];
  for (const file of sourceFiles(path.join(root, 'src'))) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^\s*\* ```ts\s*$/.test(lines[i]!)) continue;
      const start = i;
      const code: string[] = [];
      for (i++; i < lines.length && !/^\s*\* ```\s*$/.test(lines[i]!); i++) {
        code.push(lines[i]!.replace(/^\s*\* ?/, ''));
      }
      found.push({where: `${path.relative(root, file)}:${start + 1}`, code: code.join('\n')});
    }
  }
  return found;
}

/** The names src/index.ts exports (values and types). */
function exportedNames(): string[] {
  const index = fs.readFileSync(path.join(root, 'src', 'index.ts'), 'utf8');
  return [...index.matchAll(/^export (?:type )?\{([^}]*)\}/gm)].flatMap(
      m => m[1]!.split(',').map(name => name.trim()).filter(name => name.length > 0));
}

/** The names a module declares as exports (an example may use its own module's helpers). */
function ownExports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [
    ...text.matchAll(
        /^export (?:declare )?(?:async )?(?:abstract )?(?:function|const|let|class|interface|type|enum) (\w+)/gm)
  ].map(m => m[1]!)
      .filter((name, i, all) => all.indexOf(name) === i);  // overloads declare a name again
}

it('every TypeScript example in the API doc comments compiles', () => {
  const blocks = examples();
  expect(blocks.length).toBeGreaterThan(20);
  const dir = path.join(root, '.tmp', `api_examples_${process.pid}`);
  fs.mkdirSync(dir, {recursive: true});
  const index = exportedNames();
  const files = blocks.map((b, i) => {
    const module = path.join(root, b.where.replace(/:\d+$/, ''));
    const own = ownExports(module);
    const fromIndex = index.filter(name => !own.includes(name));
    const lines = b.code.split('\n');
    const imports = lines.filter(line => /^import\s/.test(line));
    const body = lines.filter(line => !/^import\s/.test(line));
    const text = [
      `// ${b.where}`,
      ...imports,
      `import * as tf from '@tensorflow/tfjs';`,
      `import {${fromIndex.join(', ')}} from '../../src';`,
      `import {${own.join(', ')}} from '../../${
          path.relative(root, module).replace(/\.ts$/, '')}';`,
      'declare const model: tf.LayersModel;',
      'declare const xs: tf.Tensor, ys: tf.Tensor, valXs: tf.Tensor, valYs: tf.Tensor;',
      `export async function example() {\n${body.join('\n')}\n}`,
    ].join('\n');
    const file = path.join(dir, `example${i}.ts`);
    fs.writeFileSync(file, text);
    return {file, where: b.where};
  });
  try {
    const config = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
    const program = ts.createProgram(files.map(f => f.file), {
      ...parsed.options,
      noEmit: true,
      noUnusedLocals: false,
      noUnusedParameters: false,
    });
    const problems = files.flatMap(
        ({file, where}) =>
            ts.getPreEmitDiagnostics(program, program.getSourceFile(file))
                .map(d => `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`));
    expect(problems).toEqual([]);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
