/**
 * Admits stage instances onto the machine's cores. Each instance declares
 * the cores it keeps busy while it runs (`Stage.threads`: a training and its
 * measuring Worker keep two) and its expected work (`Stage.cost`). Among the
 * instances ready to run, the costliest starts first (longest processing
 * time first), and instances start while the running ones keep fewer than
 * `capacity` cores busy, so one instance may overshoot it.
 *
 * Why the default capacity is three times the cores (engine.ts): a started
 * instance cannot hand its work to a core another one left idle. Run one
 * per core, and when the last runs are fewer than the cores, the others
 * idle until they end (the paper's third optimizer trained alone for its
 * last 11 minutes). Run more than the cores, and the OS shares them: runs
 * that start together end together, and no core idles while work remains.
 * Three times (the paper's three two-thread trainings on two cores) rather
 * than more bounds memory: each training holds two tfjs heaps and the data.
 */

interface Waiter {
  load: number;
  cost: number;
  order: number;
  grant: () => void;
}

export class Scheduler {
  #busy = 0;
  #running = 0;
  /** Instances announced but not yet asking (their cache lookup runs). */
  #arriving = 0;
  #waiting: Waiter[] = [];
  #pumping = false;

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) {
      throw new Error(`capacity: expected a number > 0, got ${capacity}`);
    }
  }

  /**
   * An instance is ready and may ask soon (after an asynchronous cache
   * lookup): no slot is granted until it asks (`acquire`) or withdraws.
   */
  announce(): void {
    this.#arriving++;
  }

  /** An announced instance will not ask (it was cached, or the run is a dry run). */
  withdraw(): void {
    this.#arriving--;
    this.#schedule();
  }

  /**
   * Resolves when the instance may start; consumes an announcement if there
   * is one. Waiters are compared once every announced instance has asked
   * (and a macrotask later), so the costliest of those that became ready
   * together starts first whatever the order of asking; ties go to the lower
   * `order` (the plan's).
   */
  acquire(load: number, cost: number, order: number): Promise<void> {
    if (this.#arriving > 0) this.#arriving--;
    return new Promise((grant) => {
      this.#waiting.push({ load, cost, order, grant });
      this.#schedule();
    });
  }

  /** The instance that acquired `load` has ended. */
  release(load: number): void {
    this.#busy -= load;
    this.#running--;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    setTimeout(() => {
      this.#pumping = false;
      this.#pump();
    }, 0);
  }

  #pump(): void {
    if (this.#arriving > 0) return; // pumped again when they ask or withdraw
    while (
      this.#waiting.length > 0 &&
      (this.#running === 0 || this.#busy < this.capacity)
    ) {
      let best = 0;
      this.#waiting.forEach((w, i) => {
        const b = this.#waiting[best]!;
        if (w.cost > b.cost || (w.cost === b.cost && w.order < b.order)) {
          best = i;
        }
      });
      const [next] = this.#waiting.splice(best, 1);
      this.#busy += next!.load;
      this.#running++;
      next!.grant();
    }
  }
}
