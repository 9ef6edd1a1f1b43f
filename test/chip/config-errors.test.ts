import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDirAtomic } from '../../src/chip/config-dir.js';
import { exportModel } from '../../src/chip/export.js';
import { BUILTIN_MACHINES } from '../../src/chip/machine.js';
import { datasetToCsv } from '../../src/data/csv.js';
import { yinyangDataset } from '../../src/data/yinyang.js';
import { initModel } from '../../src/model/init.js';
import { saveModel } from '../../src/model/model-file.js';
import { resolveConfig } from '../../src/model/train-config.js';
import { ensureBuilt, expectUserError, freshDir, folderState, removeTempDirs, runCli, runCliOk } from '../cli/run-cli.js';

/**
 * Bad input to the chip commands, run through the built CLI as a user would: truncated or edited
 * images, specs and routing tables naming PEs that are not there, files named outside the directory,
 * region maps that disagree with their images, exports that cannot fit. Each ends with exit code 1 and
 * one `s2prop: ` line naming the file and field, and the config directory is byte-identical afterwards:
 * the simulator reads a directory received from someone else and never writes into it.
 */

let work: string;
let files: Map<string, string | Uint8Array>;
let modelPath: string;
let dataPath: string;

beforeAll(async () => {
  await ensureBuilt();
  work = freshDir('s2prop-chip-errors-');
  const model = initModel(resolveConfig('twin', [{ hidden: [12], steps: 12, encoding: { tMin: 1, tMax: 11 } }], 'test'), 5, 3, ['x', 'y', 'x_inv', 'y_inv']);
  modelPath = join(work, 'model.json');
  saveModel(modelPath, model);
  files = exportModel(model, { quant: 'int8', clipPercentile: 100, machine: structuredClone(BUILTIN_MACHINES.chip), slots: 2 }).files;
  dataPath = join(work, 'data.csv');
  writeFileSync(dataPath, datasetToCsv(yinyangDataset({ size: 8, seed: 1 })));
}, 120_000);

afterAll(removeTempDirs);

/** A fresh export of the small model in its own folder: returns the folder and the config directory in it. */
function exported(): { home: string; cfg: string } {
  const home = freshDir('s2prop-chip-cfg-');
  const cfg = join(home, 'cfg');
  writeDirAtomic(cfg, files);
  return { home, cfg };
}

/** Every entry below a folder: file bytes, link targets, folders (to check that nothing was written). */
function tree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) out[prefix + name] = `link -> ${readlinkSync(path)}`;
    else if (st.isDirectory()) Object.assign(out, { [prefix + name + '/']: 'folder' }, tree(path, `${prefix}${name}/`));
    else out[prefix + name] = readFileSync(path).toString('base64');
  }
  return out;
}

const readJson = (cfg: string, name: string) => JSON.parse(readFileSync(join(cfg, name), 'utf8'));
const writeJson = (cfg: string, name: string, value: unknown) => writeFileSync(join(cfg, name), JSON.stringify(value, null, 1));
function editJson(cfg: string, name: string, edit: (doc: any) => void): void {
  const doc = readJson(cfg, name);
  edit(doc);
  writeJson(cfg, name, doc);
}

/** `simulate` must refuse the directory with one line holding each of `mentions`, leaving it untouched. */
async function simulateRefused(home: string, cfg: string, ...mentions: (string | RegExp)[]): Promise<string> {
  const before = tree(cfg);
  const out = join(home, 'result.json');
  const r = await runCli(['simulate', '--config', cfg, '--data', dataPath, '--out', out], home);
  const line = expectUserError(r, ...mentions);
  expect(tree(cfg), 'the config directory after simulate').toEqual(before);
  expect(existsSync(out), 'no result file').toBe(false);
  return line;
}

const IMAGE = 'images/c0q0p1.bin'; // slot 0's hidden layer

describe.concurrent('simulate refuses a damaged config directory with one line naming file and field, and writes nothing into it', { timeout: 30_000 }, () => {
  it('a good directory runs, with --out outside it, and is byte-identical afterwards', async () => {
    const { home, cfg } = exported();
    const before = tree(cfg);
    const out = join(home, 'result.json');
    const stdout = await runCliOk(['simulate', '--config', cfg, '--data', dataPath, '--out', out, '--record', 'spikes'], home);
    expect(stdout).toContain('8 samples');
    expect(JSON.parse(readFileSync(out, 'utf8')).samples).toHaveLength(8);
    expect(tree(cfg)).toEqual(before);
  });

  it('--out inside the config directory is refused (also through ..) and nothing is written', async () => {
    const { home, cfg } = exported();
    const before = tree(cfg);
    const outs = [join(cfg, 'result.json'), `${cfg}/images/../r.json`, 'cfg/images/r.json'];
    const runs = await Promise.all(outs.map((out) => runCli(['simulate', '--config', cfg, '--data', dataPath, '--out', out], home)));
    runs.forEach((r, i) => expectUserError(r, `--out ${outs[i]}`, 'inside the config directory'));
    expect(tree(cfg)).toEqual(before);
  });

  it('an image truncated by 4 bytes (a whole word)', async () => {
    const { home, cfg } = exported();
    const bytes = readFileSync(join(cfg, IMAGE));
    writeFileSync(join(cfg, IMAGE), bytes.subarray(0, bytes.length - 4));
    await simulateRefused(home, cfg, IMAGE, `has ${bytes.length / 4 - 1} words, but its region map says ${bytes.length / 4}`, 'truncated');
  });

  it('an image truncated by 2 bytes', async () => {
    const { home, cfg } = exported();
    const bytes = readFileSync(join(cfg, IMAGE));
    writeFileSync(join(cfg, IMAGE), bytes.subarray(0, bytes.length - 2));
    await simulateRefused(home, cfg, IMAGE, `has ${bytes.length - 2} bytes, expected a whole number of 32-bit words`);
  });

  it('one flipped byte of an image: its checksum in spec.json', async () => {
    const { home, cfg } = exported();
    const bytes = Buffer.from(readFileSync(join(cfg, IMAGE)));
    bytes[300] ^= 0x10;
    writeFileSync(join(cfg, IMAGE), bytes);
    await simulateRefused(home, cfg, IMAGE, 'does not match its checksum in spec.json');
  });

  it('spec.json write names a PE that is not in pes', async () => {
    const { home, cfg } = exported();
    editJson(cfg, 'spec.json', (s) => (s.write[1].pe = 'c0q9p0'));
    await simulateRefused(home, cfg, 'spec.json', 'write[1].pe', "'c0q9p0'", 'not among the active PEs');
  });

  it('spec.json read names a PE that is not in pes', async () => {
    const { home, cfg } = exported();
    editJson(cfg, 'spec.json', (s) => (s.read[0].pe = 'c3q0p1'));
    await simulateRefused(home, cfg, 'spec.json', 'read[0].pe', "'c3q0p1'", 'not among the active PEs');
  });

  it('spec.json pes lacks a PE that write and routing use', async () => {
    const { home, cfg } = exported();
    editJson(cfg, 'spec.json', (s) => (s.pes = s.pes.filter((p: { id: string }) => p.id !== 'c0q1p0')));
    await simulateRefused(home, cfg, 'spec.json', 'write[1].pe', "'c0q1p0'", 'not among the active PEs');
  });

  it('a routing entry to a missing PE', async () => {
    const { home, cfg } = exported();
    editJson(cfg, 'routing.json', (r) => (r.routers[0].entries[0].pes[0] = 'c0q5p3'));
    await simulateRefused(home, cfg, 'routing.json', 'routers[0].entries[0].pes', "'c0q5p3'", 'not among the active PEs');
  });

  it("a spec image path '../outside.bin'", async () => {
    const { home, cfg } = exported();
    copyFileSync(join(cfg, IMAGE), join(home, 'outside.bin'));
    editJson(cfg, 'spec.json', (s) => (s.pes[1].image = '../outside.bin'));
    await simulateRefused(home, cfg, 'spec.json', "pes[c0q0p1].image '../outside.bin'", 'outside the config directory');
  });

  it('a spec image path that is absolute', async () => {
    const { home, cfg } = exported();
    const outside = join(home, 'outside.bin');
    copyFileSync(join(cfg, IMAGE), outside);
    editJson(cfg, 'spec.json', (s) => (s.pes[1].image = outside));
    await simulateRefused(home, cfg, 'spec.json', `pes[c0q0p1].image '${outside}'`, 'outside the config directory');
  });

  it('a region map path that leaves the directory through images/../..', async () => {
    const { home, cfg } = exported();
    copyFileSync(join(cfg, 'images/c0q0p1.regions.json'), join(home, 'map.json'));
    editJson(cfg, 'spec.json', (s) => (s.pes[1].regions = 'images/../../map.json'));
    await simulateRefused(home, cfg, 'spec.json', "pes[c0q0p1].regions 'images/../../map.json'", 'outside the config directory');
  });

  it('an image inside the directory that is a symbolic link to a file outside (same bytes, same checksum)', async () => {
    const { home, cfg } = exported();
    const outside = join(home, 'outside.bin');
    copyFileSync(join(cfg, IMAGE), outside);
    unlinkSync(join(cfg, IMAGE));
    symlinkSync(outside, join(cfg, IMAGE));
    await simulateRefused(home, cfg, 'spec.json', `pes[c0q0p1].image '${IMAGE}'`, 'symbolic link');
  });

  it('an images folder that is a symbolic link to a folder outside', async () => {
    const { home, cfg } = exported();
    renameSync(join(cfg, 'images'), join(home, 'elsewhere'));
    symlinkSync(join(home, 'elsewhere'), join(cfg, 'images'));
    await simulateRefused(home, cfg, 'spec.json', "pes[c0q0p0].image 'images/c0q0p0.bin'", 'symbolic link');
  });

  it('a relative symbolic link inside the directory that points to another file inside is refused too', async () => {
    const { home, cfg } = exported();
    const map = 'images/c0q0p1.regions.json';
    renameSync(join(cfg, map), join(cfg, 'images/moved.json'));
    symlinkSync('moved.json', join(cfg, map));
    await simulateRefused(home, cfg, 'spec.json', `pes[c0q0p1].regions '${map}'`, 'symbolic link');
  });

  it('a region map naming another PE', async () => {
    const { home, cfg } = exported();
    editJson(cfg, 'images/c0q0p1.regions.json', (m) => (m.pe = 'c0q0p2'));
    await simulateRefused(home, cfg, 'images/c0q0p1.regions.json', "pe is 'c0q0p2', expected 'c0q0p1'");
  });

  it('a region map disagreeing with the image header', async () => {
    const { home, cfg } = exported();
    editJson(cfg, 'images/c0q0p1.regions.json', (m) => (m.regions[2].offset += 1));
    await simulateRefused(home, cfg, 'images/c0q0p1.regions.json', 'regions[2] (weights', 'disagrees with the image header');
  });

  it('spec ticks different from the steps the images were built for', async () => {
    const { home, cfg } = exported();
    editJson(cfg, 'spec.json', (s) => (s.ticks = 13));
    await simulateRefused(home, cfg, 'spec.json', 'ticks is 13', 'built for 12 steps');
  });

  it('a spec.json with a field of the wrong type', async () => {
    const { home, cfg } = exported();
    editJson(cfg, 'spec.json', (s) => (s.slots = 'two'));
    await simulateRefused(home, cfg, 'spec.json', 'slots', 'expected number');
  });

  it('a folder that is not a config directory (no spec.json)', async () => {
    const { home, cfg } = exported();
    unlinkSync(join(cfg, 'spec.json'));
    await simulateRefused(home, cfg, cfg, 'not an s2prop config directory', 'no spec.json');
  });
});

describe.concurrent('validate and export refuse what cannot work, with one line and no output', { timeout: 30_000 }, () => {
  it('validate: a config directory without export.json', async () => {
    const { home, cfg } = exported();
    unlinkSync(join(cfg, 'export.json'));
    const before = tree(cfg);
    const r = await runCli(['validate', '--model', modelPath, '--config', cfg, '--data', dataPath, '--backend', 'cpu'], home);
    expectUserError(r, join(cfg, 'export.json'), 'does not exist');
    expect(tree(cfg)).toEqual(before);
  });

  it('export: a model whose layer shapes disagree with its weights (a row dropped)', async () => {
    const home = freshDir('s2prop-chip-export-');
    const model = JSON.parse(readFileSync(modelPath, 'utf8'));
    model.layers[1].weights.pop();
    writeFileSync(join(home, 'bad.json'), JSON.stringify(model));
    const r = await runCli(['export', '--model', 'bad.json', '--out', 'cfg'], home);
    expectUserError(r, 'bad.json', 'layers[1].weights has 11 rows, expected 12');
    expect(folderState(home)).toEqual({ 'bad.json': JSON.stringify(model) });
  });

  it('export: a machine whose PEs cannot hold one neuron names the layer, the bytes needed and available', async () => {
    const home = freshDir('s2prop-chip-export-');
    const machine = structuredClone(BUILTIN_MACHINES.chip);
    // The input PE needs 308 bytes, one neuron of layer 1 (5 inputs, 12 steps, int8) 368.
    machine.memory.dataBytesPerPe.value = 320;
    writeFileSync(join(home, 'tiny.json'), JSON.stringify(machine));
    const r = await runCli(['export', '--model', modelPath, '--machine', 'tiny.json', '--quant', 'int8', '--out', 'cfg'], home);
    expectUserError(r, 'layer 1', 'needs 368 bytes', '320 bytes for data');
    expect(readdirSync(home)).toEqual(['tiny.json']);
  });

  it('export: a setting the library refuses is named by its flag (clipPercentile -> --clip-percentile, machine -> --machine)', async () => {
    const home = freshDir('s2prop-chip-export-');
    expectUserError(await runCli(['export', '--model', modelPath, '--quant', 'int8', '--clip-percentile', '0', '--rounding', 'nearest', '--out', 'cfg'], home), '--clip-percentile: expected a number in (0, 100], got 0');
    expectUserError(await runCli(['export', '--model', modelPath, '--machine', 'chips', '--out', 'cfg'], home), "--machine: unknown machine 'chips'");
    expect(readdirSync(home)).toEqual([]);
  });

  it('export: more slots than the chip holds says how many fit and suggests the board', async () => {
    const home = freshDir('s2prop-chip-export-');
    const r = await runCli(['export', '--model', modelPath, '--slots', '200', '--out', 'cfg'], home);
    expectUserError(r, '200 slots', '37 slot(s) fit', 'a machine with more chips (the built-in board)');
    expect(readdirSync(home)).toEqual([]);
  });

  it('export: --out naming an existing folder that is not a config directory is refused and left untouched', async () => {
    const home = freshDir('s2prop-chip-export-');
    mkdirSync(join(home, 'notes'));
    writeFileSync(join(home, 'notes', 'todo.txt'), 'keep me\n');
    const r = await runCli(['export', '--model', modelPath, '--out', 'notes'], home);
    expectUserError(r, '--out notes', 'not an s2prop config directory');
    expect(tree(home)).toEqual({ 'notes/': 'folder', 'notes/todo.txt': Buffer.from('keep me\n').toString('base64') });
  });

  it('export over an earlier export replaces it (the one folder --out may replace)', async () => {
    const { home, cfg } = exported();
    rmSync(join(cfg, 'report.json'));
    await runCliOk(['export', '--model', modelPath, '--quant', 'int8', '--slots', '2', '--out', cfg], home);
    expect(existsSync(join(cfg, 'report.json'))).toBe(true);
    expect(readdirSync(home)).toEqual(['cfg']);
  });
});
