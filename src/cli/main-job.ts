import type { CommandModule } from 'yargs';
import { runTraining, trainOptions, type TrainArgs } from './train.js';

/** `npm start`: the twin preset on the canonical splits, results under results/main/. */
export const mainCommand: CommandModule<object, TrainArgs> = {
  command: 'main',
  describe: 'The main job: train the twin preset on canonical Yin-Yang and write results/main/',
  builder: (y) =>
    trainOptions(y)
      .option('out', { type: 'string', default: 'results/main/model.json' })
      .option('log', { type: 'string', default: 'results/main/metrics.csv' }) as never,
  handler: async (args) => {
    await runTraining(args);
  },
};
