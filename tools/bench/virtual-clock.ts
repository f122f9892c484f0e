/**
 * A simulated `pulumi up`: the real program runs under the offline engine, and the engine answers
 * each registration and invoke only when a virtual clock says the work is done. The program itself
 * decides what waits for what (inputs, dependsOn, invokes inside applies), exactly as in a real
 * update; the clock adds each step's latency and the engine's parallelism limit.
 *
 * Discrete events: the program runs until it is idle (every pending request waits for the clock),
 * then the clock jumps to the next step's end and answers it, and so on until the program ends.
 */
import { InvokeRecord, ResourceRecord, StepScheduler } from "../offline/engine";
import { providerUrnOf } from "../offline/graph";
import { invokeLatency, resourceLatency } from "./latencies";

/** Seconds each step takes. */
export interface LatencyModel {
  resource(record: ResourceRecord): number;
  invoke(record: InvokeRecord): number;
}

/** The documented model of tools/bench/latencies.ts. */
export const DEFAULT_LATENCIES: LatencyModel = {
  resource: (record) => resourceLatency(record).seconds,
  invoke: (record) => invokeLatency(record).seconds,
};

export interface SimulatedStep {
  /** `type::name` of a resource, or an invoke's token. */
  label: string;
  start: number;
  end: number;
  /** The step whose end let this one start (undefined for the first ones). */
  cause?: SimulatedStep;
}

interface Pending {
  step: SimulatedStep;
  /** Resource steps hold one of the engine's parallel slots. */
  holdsSlot: boolean;
  answer: () => void;
}

/** Event-loop turns with no new request after which the program counts as idle. */
const IDLE_TURNS = 3;
/** Idle rounds with nothing to answer before the program counts as stuck. */
const MAX_STALLS = 100;

export class VirtualClock implements StepScheduler {
  now = 0;
  readonly steps: SimulatedStep[] = [];
  private readonly byUrn = new Map<string, SimulatedStep>();
  private running: Pending[] = [];
  private readonly queued: Pending[] = [];
  private slotsInUse = 0;
  private arrivals = 0;
  /** Steps answered at `now`: what a request arriving now was waiting for. */
  private justAnswered: SimulatedStep[] = [];

  /**
   * @param parallel the engine's `--parallel`; Pulumi's default is unbounded
   * @param latencies seconds per step
   */
  constructor(
    private readonly parallel = Number.POSITIVE_INFINITY,
    private readonly latencies: LatencyModel = DEFAULT_LATENCIES,
  ) {}

  resource(record: ResourceRecord): Promise<void> {
    this.arrivals++;
    if (!record.custom) {
      return Promise.resolve();
    }
    const provider = providerUrnOf(record);
    const dependencies = [...record.dependencies, ...(provider ? [provider] : [])];
    const seconds = this.latencies.resource(record);
    return this.schedule(`${record.type}::${record.name}`, seconds, dependencies, true, record.urn);
  }

  invoke(record: InvokeRecord): Promise<void> {
    this.arrivals++;
    return this.schedule(record.token, this.latencies.invoke(record), record.dependsOn, false);
  }

  /**
   * Drives the clock until `program` settles; returns when the last step ended (the time to ready).
   * Fails when the program waits for something the clock never answers.
   */
  async drive(program: Promise<unknown>): Promise<number> {
    let settled = false;
    void program.finally(() => {
      settled = true;
    });
    let stalls = 0;
    for (;;) {
      await this.idle();
      if (settled) {
        return this.now;
      }
      if (this.running.length === 0) {
        if (++stalls > MAX_STALLS) {
          throw new Error("the program waits for something the virtual clock does not drive");
        }
        continue;
      }
      stalls = 0;
      this.answerNext();
    }
  }

  private schedule(
    label: string,
    seconds: number,
    dependencies: string[],
    holdsSlot: boolean,
    urn?: string,
  ): Promise<void> {
    const step: SimulatedStep = {
      label,
      start: this.now,
      end: this.now + seconds,
      cause: this.causeOf(dependencies),
    };
    this.steps.push(step);
    if (urn) {
      this.byUrn.set(urn, step);
    }
    return new Promise((answer) => {
      const pending = { step, holdsSlot, answer };
      if (holdsSlot && this.slotsInUse >= this.parallel) {
        this.queued.push(pending);
      } else {
        this.begin(pending);
      }
    });
  }

  private begin(pending: Pending): void {
    pending.step.end = this.now + (pending.step.end - pending.step.start);
    pending.step.start = this.now;
    if (pending.holdsSlot) {
      this.slotsInUse++;
    }
    this.running.push(pending);
  }

  /** The dependency that ended last, if it ended just now; else what was answered just now. */
  private causeOf(dependencies: string[]): SimulatedStep | undefined {
    const ended = dependencies
      .map((urn) => this.byUrn.get(urn))
      .filter((s): s is SimulatedStep => s !== undefined)
      .sort((a, b) => b.end - a.end)[0];
    if (ended && ended.end === this.now) {
      return ended;
    }
    // The program waited for a value, not a resource it names: most often an invoke's result, which
    // justAnswered lists first.
    return this.justAnswered[0] ?? ended;
  }

  /** Answers every step that ends first, then starts queued steps in the freed slots. */
  private answerNext(): void {
    this.now = Math.min(...this.running.map((p) => p.step.end));
    const due = this.running.filter((p) => p.step.end === this.now);
    this.running = this.running.filter((p) => p.step.end !== this.now);
    this.justAnswered = due.map((p) => p.step).sort((a, b) => invokesFirst(a, b));
    for (const pending of due) {
      if (pending.holdsSlot) {
        this.slotsInUse--;
      }
      pending.answer();
    }
    while (this.queued.length > 0 && this.slotsInUse < this.parallel) {
      this.begin(this.queued.shift() as Pending);
    }
  }

  /** Resolves once the program has made no new request for a few event-loop turns. */
  private async idle(): Promise<void> {
    let quiet = 0;
    let seen = this.arrivals;
    while (quiet < IDLE_TURNS) {
      await new Promise((resolve) => setImmediate(resolve));
      quiet = this.arrivals === seen ? quiet + 1 : 0;
      seen = this.arrivals;
    }
  }
}

/** Invokes (no `::` in the label) before resources, then by label, so causes are stable. */
function invokesFirst(a: SimulatedStep, b: SimulatedStep): number {
  const ai = a.label.includes("::") ? 1 : 0;
  const bi = b.label.includes("::") ? 1 : 0;
  return ai - bi || a.label.localeCompare(b.label);
}

/** The chain of steps that ends last: the path that sets the time to ready. */
export function criticalPath(steps: SimulatedStep[]): SimulatedStep[] {
  let last = steps.reduce<SimulatedStep | undefined>((a, s) => (a && a.end >= s.end ? a : s), undefined);
  const path: SimulatedStep[] = [];
  while (last) {
    path.unshift(last);
    last = last.cause;
  }
  return path;
}
