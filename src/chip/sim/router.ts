import type { Machine } from '../machine.js';
import { neighbour, type Link } from '../routing.js';
import type { Routing } from '../config-dir.js';

/**
 * The network of chip routers: a packet entering chip c's router is matched against its entries in
 * order (first match wins; key & mask === entry key), copied to the entry's PEs and sent on over its
 * links, where the next router does the same. No match: the packet is dropped (and counted).
 */
export class RouterNetwork {
  private readonly tables = new Map<number, Routing['routers'][number]['entries']>();
  dropped = 0;

  constructor(
    routing: Routing,
    private readonly machine: Machine,
  ) {
    for (const r of routing.routers) this.tables.set(r.chip, r.entries);
  }

  /** The PEs a packet with `key` sent on chip `chip` reaches, and the number of chip-to-chip hops. */
  route(key: number, chip: number): { pes: string[]; hops: number } {
    const pes: string[] = [];
    let hops = 0;
    const seen = new Set<number>();
    const queue = [chip];
    while (queue.length) {
      const c = queue.shift()!;
      if (seen.has(c)) continue;
      seen.add(c);
      const entry = this.tables.get(c)?.find((e) => ((key & e.mask) >>> 0) === e.key);
      if (!entry) {
        this.dropped++;
        continue;
      }
      pes.push(...entry.pes);
      for (const link of entry.links as Link[]) {
        const next = neighbour(c, link, this.machine);
        if (next < 0) {
          this.dropped++;
          continue;
        }
        hops++;
        queue.push(next);
      }
    }
    return { pes, hops };
  }
}
