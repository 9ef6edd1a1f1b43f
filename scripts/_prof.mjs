import * as tf from '@tensorflow/tfjs';
const root='/work/main/dist';
const { useBackend } = await import(root+'/engine/backend.js');
const { presetConfig } = await import(root+'/model/train-config.js');
const { initModel } = await import(root+'/model/init.js');
const { networkFromModel } = await import(root+'/engine/model-network.js');
const { runBatch } = await import(root+'/train/batch-runner.js');
const { Optimizer } = await import(root+'/train/optimizer.js');
const { epochOrder } = await import(root+'/train/trainer.js');
const { encodeDataset } = await import(root+'/data/encoding.js');
const { yinyangDataset } = await import(root+'/data/yinyang.js');
await useBackend(process.argv[2]||'wasm');
const config = presetConfig('twin'); const batch=+(process.argv[3]||256);
const ds = yinyangDataset('train');
const set = { encoded: encodeDataset(ds, { steps: 27, tMin: 2, tMax: 26, bias: true }), labels: ds.labels, count: ds.count, inputs: 5, steps: 27 };
const net = networkFromModel(initModel(config, 5, 3)); const opt = new Optimizer(config.optimizer, net.weights.map((w) => w.shape));
const order = epochOrder(set.count, 0, 0);
for (let e=0;e<6;e++){ const t0=performance.now(); const nb=Math.floor(set.count/batch);
for (let b=0;b<nb;b++){ const {grads}=runBatch(net,set,order.subarray(b*batch,(b+1)*batch),true); opt.apply(net.weights,grads,0.0019); tf.dispose(grads);} 
console.log('sps', Math.round(nb*batch/((performance.now()-t0)/1000)));}
