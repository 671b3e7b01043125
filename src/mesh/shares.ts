/**
 * How the parameters are cut into shares: whole variables, each given, in build order, to the
 * replica with the fewest elements so far (lowest rank on a tie). Whole variables keep every
 * per-variable rule (clipnorm, the per-variable sums of squares that global clipping adds in
 * variable order, sparse rows) exactly as without a mesh; the price is a coarser balance when one
 * variable dominates.
 */
export class ShareAssigner {
  private readonly loads: number[];
  constructor(readonly replicas: number) {
    this.loads = new Array<number>(replicas).fill(0);
  }

  /** The owner of the next variable, of `size` elements. */
  assign(size: number): number {
    let owner = 0;
    for (let r = 1; r < this.replicas; r++) if (this.loads[r] < this.loads[owner]) owner = r;
    this.loads[owner] += Math.max(size, 1);
    return owner;
  }

  /** Elements owned by each replica. */
  get elements(): readonly number[] {
    return this.loads;
  }
}
