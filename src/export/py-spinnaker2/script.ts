/**
 * The Python script of a py-spinnaker2 export folder (run.py). It is the same for every network: what
 * differs lives in network.json, the weight files and inputs.csv beside it. It needs only the Python
 * standard library and py-spinnaker2 (`spinnaker2`), so that it also runs against a stand-in module.
 */
export const RUN_PY = String.raw`#!/usr/bin/env python3
"""Run an s2prop network on SpiNNaker2 through py-spinnaker2.

Written by 's2prop export --target py-spinnaker2'. The network (populations, neuron parameters, weight
scale) is in network.json, the weights in weights/*.csv, and the latency-coded input spikes of every
sample in inputs.csv, all beside this script. See README.md in this folder.

  python3 run.py --backend chip --ip 192.168.1.25     # a SpiNNaker2 chip on the network
  python3 run.py --backend software                   # py-spinnaker2's software backend (Brian2)
"""

import argparse
import csv
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(message):
    sys.stderr.write("run.py: " + message + "\n")
    sys.exit(1)


def load_network():
    with open(os.path.join(HERE, "network.json"), encoding="utf-8") as f:
        net = json.load(f)
    if net.get("format") != "s2prop-py-spinnaker2" or net.get("version") != 1:
        fail("network.json: not an s2prop py-spinnaker2 network (format s2prop-py-spinnaker2, version 1)")
    return net


def read_matrix(name, rows, cols, integers):
    """A weight file: one line per input (pre-synaptic neuron), one column per output (post-synaptic)."""
    matrix = []
    with open(os.path.join(HERE, name), encoding="utf-8", newline="") as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if len(row) != cols:
                fail("%s: line %d has %d values, expected %d" % (name, line, len(row), cols))
            matrix.append([int(v) if integers else float(v) for v in row])
    if len(matrix) != rows:
        fail("%s: has %d lines, expected %d" % (name, len(matrix), rows))
    return matrix


def read_inputs(name, size):
    """inputs.csv: a label, then the step at which each input spikes (one spike per input)."""
    samples = []
    with open(os.path.join(HERE, name), encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if len(header) != size + 1 or header[0] != "label":
            fail("%s: expected the columns label and %d input steps" % (name, size))
        for row in reader:
            samples.append((int(row[0]), [int(v) for v in row[1:]]))
    return samples


def spike_list(steps, timesteps):
    """The spike_list population's parameters: input index -> list of spike times (timesteps)."""
    return {k: ([t] if 0 <= t < timesteps else []) for k, t in enumerate(steps)}


def connections(matrix, delay):
    """[pre, post, weight, delay] for every non-zero weight."""
    return [[i, j, w, delay] for i, row in enumerate(matrix) for j, w in enumerate(row) if w != 0]


def build(snn, net_desc, weights, steps, atoms_per_core):
    timesteps = net_desc["timesteps"]
    stim = snn.Population(size=net_desc["input"]["size"], neuron_model="spike_list",
                          params=spike_list(steps, timesteps), name="input")
    network = snn.Network("s2prop")
    network.add(stim)
    pre = stim
    pops = []
    for layer, matrix in zip(net_desc["layers"], weights):
        pop = snn.Population(size=layer["size"], neuron_model=layer["neuron_model"],
                             params=dict(layer["params"]), name=layer["name"], record=["spikes"])
        if atoms_per_core:
            pop.set_max_atoms_per_core(atoms_per_core)
        proj = snn.Projection(pre=pre, post=pop, connections=connections(matrix, layer["delay"]))
        network.add(pop, proj)
        pops.append(pop)
        pre = pop
    return network, pops


def first_spikes(pop, size, timesteps):
    """First spike timestep of each neuron; timesteps (the window length) for a silent one."""
    spikes = pop.get_spikes()
    return [min([int(round(t)) for t in spikes.get(j, [])] or [timesteps]) for j in range(size)]


def predict(first):
    """The earliest spike wins; ties go to the lowest index."""
    return min(range(len(first)), key=lambda j: (first[j], j))


def main():
    parser = argparse.ArgumentParser(description="Run an s2prop network with py-spinnaker2 and report its accuracy.")
    parser.add_argument("--backend", choices=["chip", "software"], default="chip",
                        help="chip: a SpiNNaker2 chip (hardware.SpiNNaker2Chip); software: py-spinnaker2's Brian2 backend")
    parser.add_argument("--ip", default=os.environ.get("S2_IP"), help="the chip's IP address (default: $S2_IP)")
    parser.add_argument("--samples", type=int, default=0, help="run only the first N samples of inputs.csv (default: all)")
    parser.add_argument("--atoms-per-core", type=int, default=0, help="neurons per PE (Population.set_max_atoms_per_core)")
    parser.add_argument("--save", help="write each sample's label, prediction and output first spikes to this CSV file")
    parser.add_argument("--quiet", action="store_true", help="print only the accuracy")
    args = parser.parse_args()

    net_desc = load_network()
    if args.backend == "chip":
        if net_desc["quant"] == "float32":
            fail("this export has float32 weights, which the chip does not take (its synapses hold integers): "
                 "run it with --backend software, or export again with --quant int8 or int4")
        if not args.ip:
            fail("--backend chip needs the chip's address: --ip ADDRESS (or the environment variable S2_IP)")
    try:
        from spinnaker2 import snn
        if args.backend == "chip":
            from spinnaker2 import hardware
        else:
            from spinnaker2 import brian2_sim
    except ImportError as err:
        fail("cannot import py-spinnaker2 (%s): install it (https://github.com/SpiNNaker2/py-spinnaker2)" % err)

    integers = net_desc["quant"] != "float32"
    weights = [read_matrix(l["weights"], l["rows"], l["size"], integers) for l in net_desc["layers"]]
    samples = read_inputs(net_desc["input"]["spikes"], net_desc["input"]["size"])
    if args.samples > 0:
        samples = samples[: args.samples]
    timesteps = net_desc["timesteps"]
    out_size = net_desc["layers"][-1]["size"]

    rows = []
    correct = 0
    for index, (label, steps) in enumerate(samples):
        network, pops = build(snn, net_desc, weights, steps, args.atoms_per_core)
        if args.backend == "chip":
            hw = hardware.SpiNNaker2Chip(eth_ip=args.ip)
            hw.run(network, timesteps)
        else:
            hw = brian2_sim.Brian2Backend()
            hw.run(network, timesteps, quantize_weights=False)
        first = first_spikes(pops[-1], out_size, timesteps)
        prediction = predict(first)
        correct += int(prediction == label)
        rows.append([index, label, prediction] + first)
        if not args.quiet:
            print("sample %d: label %d, predicted %d, first spikes %s" % (index, label, prediction, first))
        del hw

    if args.save:
        with open(args.save, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["sample", "label", "prediction"] + ["first_spike_%d" % j for j in range(out_size)])
            writer.writerows(rows)
    n = len(samples)
    print("accuracy: %.2f %% (%d of %d samples) on %s" % (100.0 * correct / max(n, 1), correct, n,
                                                       "the chip at " + args.ip if args.backend == "chip" else "the software backend"))


if __name__ == "__main__":
    main()
`;
