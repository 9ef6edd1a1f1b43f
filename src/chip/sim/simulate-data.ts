import { loadDataset } from '../../data/sources.js';
import { UserError } from '../../errors.js';
import { loadChipConfig } from './load-config.js';
import { ChipSimulator, type Simulation } from './simulator.js';

/** Run a config directory's simulator on a data set. */
export function simulateData(configDir: string, dataSpec: string, record: boolean): Simulation {
  const config = loadChipConfig(configDir);
  const sim = new ChipSimulator(config);
  const ds = loadDataset(dataSpec);
  if (ds.featureNames.length !== sim.features) {
    throw new UserError(`${ds.source}: has ${ds.featureNames.length} feature columns, the config's input program expects ${sim.features}`);
  }
  return sim.run(ds.features, ds.count, ds.labels, record);
}
