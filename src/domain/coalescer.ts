/**
 * Runs many small requests of the same kind as one: requests made while a group is running wait for the next
 * group, so a busy worker runs one query (or transaction) per group rather than one per request, and a quiet
 * one at once (the first group starts on the next turn of the event loop, so requests made together go
 * together). Each caller gets its own result, or its group's error. With `maxRunning` above 1, up to that
 * many groups run at once (for a database that works on several statements in parallel, where one group
 * at a time would leave it waiting on each group's commit).
 */
export class Coalescer<T, R> {
  #waiting: Array<{ item: T; resolve: (r: R) => void; reject: (err: unknown) => void }> = [];
  /** Groups running, plus one for a start already scheduled. */
  #running = 0;
  /** Whether a start is scheduled for the next turn of the event loop. */
  #scheduled = false;

  /**
   * @param run Handles one group; returns one result per item, in order.
   * @param maxGroup The most items in one group.
   * @param maxRunning The most groups running at once.
   */
  constructor(
    private readonly run: (items: T[]) => Promise<R[]>,
    private readonly maxGroup = 500,
    private readonly maxRunning = 1,
  ) {}

  /** Adds a request; resolves once its group has run. */
  add(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      // One scheduled start at a time, so the requests of one turn of the event loop form one group.
      if (this.#running < this.maxRunning && !this.#scheduled) {
        this.#scheduled = true;
        this.#running++;
        setImmediate(() => {
          this.#scheduled = false;
          void this.#flush();
        });
      }
    });
  }

  async #flush(): Promise<void> {
    while (this.#waiting.length > 0) {
      const group = this.#waiting.splice(0, this.maxGroup);
      try {
        const results = await this.run(group.map((g) => g.item));
        for (const [i, g] of group.entries()) g.resolve(results[i] as R);
      } catch (err) {
        for (const g of group) g.reject(err);
      }
    }
    this.#running--;
  }
}
