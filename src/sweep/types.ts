/**
 * The shared vocabulary of sweeps: search space, trials, and the study store interface that the SQLite
 * and PostgreSQL stores implement. Workers talk to a study only through `StudyStore`.
 */

/** A parameter's distribution; its name is the path of the setting in the training config (`optimiser.lr`). */
export type ParamSpec =
  | { type: 'uniform'; low: number; high: number }
  | { type: 'loguniform'; low: number; high: number }
  | { type: 'int'; low: number; high: number; step?: number }
  | { type: 'categorical'; choices: (number | string | boolean | number[])[] }
  | { type: 'fixed'; value: unknown };

export type Params = Record<string, unknown>;

export interface Objective {
  /** A column of the per-epoch metrics, e.g. validationAccuracy or validationLoss. */
  metric: 'validationAccuracy' | 'validationLoss';
  direction: 'maximize' | 'minimize';
  /** Seeds each trial trains with; the objective is their mean (absent: 1). */
  seeds?: number;
  /** The seeds' mean (default) or the worst seed's value. */
  seedAggregate?: 'mean' | 'worst';
}

export type TrialState = 'running' | 'complete' | 'pruned' | 'failed';

export interface Trial {
  /** 0, 1, 2, ... in the order trials were created in the study. */
  number: number;
  params: Params;
  state: TrialState;
  /** The objective of the trial's best epoch (complete), or of its last epoch (pruned). */
  value: number | null;
  /** Objective per finished epoch, in order. */
  intermediate: { epoch: number; value: number }[];
  worker: string | null;
  /** Milliseconds since the epoch. */
  heartbeatAt: number | null;
  startedAt: number;
  finishedAt: number | null;
  /** Anything the worker wants to keep (final metrics, seconds, the error of a failed trial). */
  attrs: Record<string, unknown>;
}

/** A trial as `claim` returns it: new, or taken over from a worker that stopped sending heartbeats. */
export interface ClaimedTrial extends Trial {
  /** Present when the claim took over a stale running trial (it restarts from epoch 1). */
  takenOver?: {
    /** The worker that held it. */
    worker: string | null;
    /** Its last heartbeat (milliseconds since the epoch, on the store's clock), if any. */
    heartbeatAt: number | null;
    /** Epochs it had reported, now discarded. */
    epochs: number;
  };
}

/** What a sampler proposes from the study's trials so far. */
export type Propose = (trials: Trial[]) => Params;

export interface ClaimOptions {
  worker: string;
  /** A running trial whose heartbeat is older than this is taken over (its worker died). */
  staleAfterMs: number;
  /** No new trial once the study holds this many. */
  maxTrials: number;
  propose: Propose;
}

export interface StudyStore {
  /**
   * Create the study (tables too) with this space, or open it; a study created with another space is
   * refused. With `space` undefined, join a study that must already exist (a worker started elsewhere).
   */
  open(study: string, space: unknown): Promise<void>;
  /**
   * Atomically (across processes and machines): take over a stale running trial, else create a new one
   * with `propose(trials)` while fewer than `maxTrials` exist; null when there is nothing left to run.
   * A trial taken over says so, and from whom (`ClaimedTrial.takenOver`).
   */
  claim(opts: ClaimOptions): Promise<ClaimedTrial | null>;
  /** Refresh the heartbeat; false when the trial is no longer this worker's (it was taken over). */
  heartbeat(number: number, worker: string): Promise<boolean>;
  /** Append an epoch's objective; false when the trial is no longer this worker's. */
  report(number: number, worker: string, epoch: number, value: number): Promise<boolean>;
  /**
   * Finish a trial once: only while it is running and owned by `worker`; false otherwise (another worker
   * took it over), and nothing changes.
   */
  finish(number: number, worker: string, state: Exclude<TrialState, 'running'>, value: number | null, attrs: Record<string, unknown>): Promise<boolean>;
  trials(): Promise<Trial[]>;
  /** The space the study was created with. */
  space(): Promise<unknown>;
  close(): Promise<void>;
}
