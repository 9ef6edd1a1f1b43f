// Build step: assemble the WebAssembly kernels (src/engine/wasm/*.wat) into dist/engine/wasm/*.wasm
// with wabt. Run by `npm run build` / `npm install` (prepare).
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src/engine/wasm');
const outDir = join(root, 'dist/engine/wasm');
const wabt = await initWabt();
mkdirSync(outDir, { recursive: true });
for (const file of readdirSync(srcDir).filter((f) => f.endsWith('.wat'))) {
  const module = wabt.parseWat(file, readFileSync(join(srcDir, file), 'utf8'), { simd: true });
  module.validate();
  const { buffer } = module.toBinary({});
  writeFileSync(join(outDir, file.replace(/\.wat$/, '.wasm')), buffer);
  module.destroy();
}
