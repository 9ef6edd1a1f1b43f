import { epochOrder } from '../data/epoch-order.js';
import { UserError } from '../errors.js';
import { scheduledLr } from './optimiser.js';

/**
 * The training loop, the one every trainer runs: epochs over a stack of K trial runs, each with its own
 * settings, data order, history, model selection and checkpoint, trained by a `Learner` (the tensor
 * engine, the on-chip training programs, the chip in the loop). A plain training run is K = 1; trials
 * may stop early (a pruned sweep trial) and others take their places at an epoch boundary.
 *
 * Per epoch and trial: the epoch's order of the training samples (`epochOrder(count, seed, epoch)`, its
 * first `samples`), batches of `batch` samples, the learning rate of the smooth schedule for each batch,
 * then the learner's evaluation of the trial's candidate, one metrics row, the selection rule, the
 * checkpoint, the progress event and the stop decision, in that order.
 */

/** One row of the metrics log. */
export type EpochMetrics = Record<string, number>;

/** A batch's sums for one trial: CE and R over its samples, and the samples classified correctly. */
export interface BatchSums {
  ceSum: number;
  rSum: number;
  correct: number;
}

/** How a trial's candidate of an epoch did on the validation data. */
export interface Validation {
  accuracy: number;
  /** Mean CE + R; absent where the learner does not compute it (on the chip). */
  loss?: number;
  /** Per layer (hidden layers, then the output layer), where the learner counts them. */
  spikesPerSample?: number[];
  silentNeurons?: number[];
}

/** What a learner gives for each trial at the end of an epoch. */
export interface EpochEnd {
  /** The candidate's validation; null when the run has no validation data (the last epoch is kept). */
  validation: Validation | null;
  /** The weights kept if this epoch is selected. */
  candidate: number[][][];
  /** Columns the learner adds to the epoch's metrics row (cost, spike mismatches, ...). */
  columns?: EpochMetrics;
}

/** The best epoch so far of a trial. */
export interface BestEpoch {
  epoch: number;
  accuracy: number;
  loss?: number;
  weights: number[][][];
}

/**
 * The selection rule, one for every trainer: a higher validation accuracy, or the same with a lower
 * validation loss (ties, and losses not computed, keep the earlier epoch). Without validation data the
 * latest epoch is kept.
 */
export function improves(val: Validation | null, best: BestEpoch | null): boolean {
  if (!val || !best) return true;
  return val.accuracy > best.accuracy || (val.accuracy === best.accuracy && val.loss !== undefined && best.loss !== undefined && val.loss < best.loss);
}

/** The metrics row of an epoch: training sums over the epoch's batches, the validation of its end. */
export function epochMetrics(epoch: number, lr: number, train: BatchSums & { count: number }, end: EpochEnd, trainSeconds: number, evalSeconds: number): EpochMetrics {
  const metrics: EpochMetrics = { epoch, lr, trainLoss: (train.ceSum + train.rSum) / train.count, trainAccuracy: train.correct / train.count };
  const val = end.validation;
  if (val) {
    if (val.loss !== undefined) metrics.validationLoss = val.loss;
    metrics.validationAccuracy = val.accuracy;
    val.spikesPerSample?.forEach((s, l) => (metrics[`spikesPerSample${l + 1}`] = s));
    val.silentNeurons?.forEach((s, l) => (metrics[`silentNeurons${l + 1}`] = s));
  }
  Object.assign(metrics, end.columns);
  metrics.trainSeconds = trainSeconds;
  metrics.evalSeconds = evalSeconds;
  return metrics;
}

/** Progress of one trial. */
export type LoopProgress =
  | { type: 'start'; epoch: number; epochs: number; batches: number }
  /** After each batch; with the running training loss and accuracy of the epoch only where the learner reads outcomes per batch. */
  | { type: 'batch'; epoch: number; batch: number; batches: number; loss?: number; accuracy?: number }
  | { type: 'epoch'; metrics: EpochMetrics; history: EpochMetrics[]; best: boolean };

/** Where a trial resumes: its epochs done, history and best epoch (the learner restores its weights and state). */
export interface Resumed {
  epochsDone: number;
  history: EpochMetrics[];
  best: BestEpoch | null;
}

/** What a trial's checkpoint holds after an epoch. */
export interface Snapshot<S> extends Resumed {
  /** The learner's state of the trial (weights, optimiser). */
  state: S;
}

/** A decision taken once per epoch for several trials together (the seeds of a multi-seed sweep trial). */
export interface TrialGroup {
  /** The members' metrics rows of the epoch, in the order they joined; true stops them all. */
  afterEpoch(rows: EpochMetrics[]): Promise<boolean | void> | boolean | void;
}

/** One trial run of the stack. */
export interface LoopTrial<S = unknown> {
  seed: number;
  /** Samples per batch and epochs in all (counting resumed ones). */
  batch: number;
  epochs: number;
  /** Learning rate and its decay per epoch (the smooth schedule). */
  schedule: { lr: number; gamma: number };
  /** Training samples: the epoch order runs over `count` of them and takes its first `samples` (default all). */
  count: number;
  samples?: number;
  resume?: Resumed;
  /** The weights the trial starts from are a candidate for selection too (epoch 0): training must beat them. */
  startIsCandidate?: boolean;
  onStartCandidate?: (validation: Validation | null) => void;
  onProgress?: (p: LoopProgress) => void;
  /** Written after every epoch. */
  checkpoint?: (snapshot: Snapshot<S>) => Promise<void> | void;
  /** Awaited after each of the trial's epochs (timers, such as heartbeats, fire there); true stops it. */
  afterEpoch?: (metrics: EpochMetrics, history: EpochMetrics[]) => Promise<boolean | void> | boolean | void;
  /** Trials of one group stop together, on the group's decision (instead of `afterEpoch`). */
  group?: TrialGroup;
}

/** A trial's outcome: its history and the epoch selected. */
export interface LoopResult {
  history: EpochMetrics[];
  best: BestEpoch;
  /** The trial stopped before its epochs were done. */
  stopped: boolean;
}

/** A trial of any learner (its checkpoint state's type is the learner's business). */
type AnyTrial = LoopTrial<any>;

/** The state type a trial's checkpoint holds. */
type StateOf<T> = T extends LoopTrial<infer S> ? S : never;

/**
 * What trains the trials. The learner keeps its trials in the order the loop gives them (`join` appends,
 * `keep` keeps some in order); `runBatch` trains one batch of every trial and gives its sums, or with
 * `read`, a pending batch whose sums `read` reads later, several at once (a GPU backend reads them once
 * per epoch).
 */
export interface Learner<T extends AnyTrial, P = BatchSums[]> {
  join(trials: T[]): Promise<void> | void;
  keep(indices: number[]): void;
  /** `at`: each trial's epoch (1-based) and the batch (1-based) within it. */
  runBatch(orders: Int32Array[], lrs: number[], at: { epochs: number[]; batch: number }): Promise<P> | P;
  /** Per pending batch, each trial's sums (absent: `runBatch` gives the sums themselves). */
  read?(pending: P[]): Promise<BatchSums[][]>;
  /** Dispose pending batches not read (an error cut the epoch short). */
  discard?(pending: P[]): void;
  /** Whether reading a batch's sums right away is free (absent: it is): then running numbers are shown per batch. */
  readsPerBatch?(): boolean;
  /** Each trial's candidate and its validation. */
  endEpoch(): Promise<EpochEnd[]>;
  /** The trial's state for its checkpoint, after `endEpoch`. */
  state(k: number): Promise<StateOf<T>>;
}

export interface LoopOptions<T extends AnyTrial> {
  /** At most this many trials train at once (default: as many as start). */
  capacity?: number;
  /** Asked at each epoch boundary while places are free: trials to start now (none: the stack shrinks). */
  refill?: (free: number) => Promise<T[]> | T[];
  /** Called as soon as a trial ends, before the others go on. */
  onEnd?: (trial: T, result: LoopResult) => Promise<void> | void;
}

/** A trial's place in the stack. */
interface Slot<T extends AnyTrial> {
  trial: T;
  epoch: number;
  history: EpochMetrics[];
  best: BestEpoch | null;
  sums: BatchSums;
  lr: number;
  stop: boolean;
}

/** Batches of an epoch of a trial. */
function batchesOf(t: LoopTrial): number {
  return Math.ceil(Math.min(t.count, t.samples ?? Infinity) / t.batch);
}

/**
 * Train the trials until each has run its epochs or stopped; returns their results in the order they
 * started (given ones first). All trials of a stack must have the same batch size and epoch length.
 */
export async function runTrials<T extends AnyTrial, P>(learner: Learner<T, P>, trials: T[], opts: LoopOptions<T> = {}): Promise<LoopResult[]> {
  const capacity = opts.capacity ?? trials.length;
  let slots: Slot<T>[] = [];
  const started: Slot<T>[] = [];
  const results = new Map<Slot<T>, LoopResult>();

  const join = async (joining: T[]): Promise<void> => {
    const fresh = joining.slice(0, capacity - slots.length).map((trial): Slot<T> => {
      const first = slots[0]?.trial ?? joining[0];
      if (trial.batch !== first.batch || batchesOf(trial) !== batchesOf(first)) {
        throw new Error(`a trial of ${batchesOf(trial)} batches of ${trial.batch} cannot join a stack of ${batchesOf(first)} batches of ${first.batch}`);
      }
      const r = trial.resume;
      return { trial, epoch: r?.epochsDone ?? 0, history: r ? [...r.history] : [], best: r?.best ?? null, sums: { ceSum: 0, rSum: 0, correct: 0 }, lr: trial.schedule.lr, stop: false };
    });
    if (!fresh.length) return;
    await learner.join(fresh.map((s) => s.trial));
    slots = [...slots, ...fresh];
    started.push(...fresh);
    const judged = fresh.filter((s) => s.trial.startIsCandidate && !s.trial.resume);
    if (judged.length) {
      // The start is judged as an epoch's end is; every trial of the stack is evaluated, only these use it.
      const ends = await learner.endEpoch();
      for (const s of judged) {
        const end = ends[slots.indexOf(s)];
        s.best = { epoch: 0, accuracy: end.validation?.accuracy ?? 0, ...(end.validation?.loss !== undefined ? { loss: end.validation.loss } : {}), weights: end.candidate };
        s.trial.onStartCandidate?.(end.validation);
      }
    }
  };

  await join(trials);
  while (slots.length) {
    // Trials already past their epochs (a resumed run asked for no more) end without training.
    const done = slots.filter((s) => s.epoch >= s.trial.epochs);
    if (done.length) {
      await end(done);
      continue;
    }
    const batches = batchesOf(slots[0].trial);
    const orders = slots.map((s) => {
      s.sums = { ceSum: 0, rSum: 0, correct: 0 };
      s.trial.onProgress?.({ type: 'start', epoch: s.epoch + 1, epochs: s.trial.epochs, batches });
      return epochOrder(s.trial.count, s.trial.seed, s.epoch);
    });
    const add = (sums: BatchSums[]) =>
      slots.forEach((s, k) => {
        s.sums.ceSum += sums[k].ceSum;
        s.sums.rSum += sums[k].rSum;
        s.sums.correct += sums[k].correct;
      });
    // Where reads are free each batch's sums are read at once (for the running numbers of the progress
    // bar); otherwise they stay with the learner until the end of the epoch, read in one go and added in
    // the same order.
    const perBatch = learner.readsPerBatch?.() ?? true;
    // Without `read`, a pending batch is its sums.
    const read = async (ps: P[]): Promise<BatchSums[][]> => (learner.read ? learner.read(ps) : (ps as unknown as BatchSums[][]));
    const t0 = performance.now();
    let pending: P[] = [];
    try {
      for (let b = 0; b < batches; b++) {
        const batchOrders = slots.map((s, k) => orders[k].subarray(b * s.trial.batch, Math.min((b + 1) * s.trial.batch, s.trial.count, s.trial.samples ?? Infinity)));
        const lrs = slots.map((s) => (s.lr = scheduledLr(s.trial.schedule, s.epoch * batches + b, batches)));
        const p = await learner.runBatch(batchOrders, lrs, { epochs: slots.map((s) => s.epoch + 1), batch: b + 1 });
        if (perBatch) {
          add((await read([p]))[0]);
          slots.forEach((s) => {
            const seen = Math.min((b + 1) * s.trial.batch, s.trial.count, s.trial.samples ?? Infinity);
            s.trial.onProgress?.({ type: 'batch', epoch: s.epoch + 1, batch: b + 1, batches, loss: (s.sums.ceSum + s.sums.rSum) / seen, accuracy: s.sums.correct / seen });
          });
        } else {
          pending.push(p);
          slots.forEach((s) => s.trial.onProgress?.({ type: 'batch', epoch: s.epoch + 1, batch: b + 1, batches }));
        }
      }
      const last = pending;
      pending = [];
      for (const sums of await read(last)) add(sums);
    } finally {
      learner.discard?.(pending);
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const ends = await learner.endEpoch();
    const evalSeconds = (performance.now() - t1) / 1000;
    for (let k = 0; k < slots.length; k++) {
      const s = slots[k];
      const t = s.trial;
      s.epoch += 1;
      const count = Math.min(t.count, t.samples ?? Infinity);
      const metrics = epochMetrics(s.epoch, s.lr, { ...s.sums, count }, ends[k], trainSeconds, evalSeconds);
      s.history.push(metrics);
      const isBest = improves(ends[k].validation, s.best);
      if (isBest) {
        const val = ends[k].validation;
        s.best = { epoch: s.epoch, accuracy: val?.accuracy ?? metrics.trainAccuracy, ...(val?.loss !== undefined ? { loss: val.loss } : {}), weights: ends[k].candidate };
      }
      await t.checkpoint?.({ epochsDone: s.epoch, history: s.history, best: s.best, state: await learner.state(k) });
      t.onProgress?.({ type: 'epoch', metrics, history: s.history, best: isBest });
      if (!t.group && (await t.afterEpoch?.(metrics, s.history))) s.stop = true;
    }
    // Groups decide once for all their members.
    for (const group of new Set(slots.map((s) => s.trial.group).filter((g): g is TrialGroup => g !== undefined))) {
      const members = slots.filter((s) => s.trial.group === group);
      if (await group.afterEpoch(members.map((s) => s.history[s.history.length - 1]))) members.forEach((s) => (s.stop = true));
    }
    await end(slots.filter((s) => s.stop || s.epoch >= s.trial.epochs));
    if (opts.refill && slots.length < capacity) await join(await opts.refill(capacity - slots.length));
  }
  return started.map((s) => results.get(s)!);

  /** Trials leave the stack: their results, then the learner keeps the others. */
  async function end(ending: Slot<T>[]): Promise<void> {
    if (!ending.length) return;
    for (const s of ending) {
      if (!s.best) throw new UserError(`the run had no epoch to train: ${s.epoch} of its ${s.trial.epochs} epochs were done already`);
      const result = { history: s.history, best: s.best, stopped: s.stop };
      results.set(s, result);
      await opts.onEnd?.(s.trial, result);
    }
    const stay = slots.flatMap((s, k) => (ending.includes(s) ? [] : [k]));
    learner.keep(stay);
    slots = stay.map((k) => slots[k]);
  }
}
