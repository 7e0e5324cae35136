// Karbor's hook order over the resource graph, as a pure state machine the workflows drive.
// For a parent P that depends on child C:
//   P.prepare_begin  before C.prepare_begin
//   C.prepare_finish before P.prepare_finish
//   C.complete       before P.complete
//   and for each resource: prepare_begin -> prepare_finish -> main -> complete.
// Everything else may run in parallel.

export const HOOKS = ['prepare_begin', 'prepare_finish', 'main', 'complete'] as const;
export type Hook = (typeof HOOKS)[number];

export interface HookTask {
  node: number;
  hook: Hook;
}

export interface ScheduleGraph {
  children: number[][];
}

const PB = 0;
const PF = 1;
const MAIN = 2;
const COMPLETE = 3;

/**
 * Tracks which hooks have run and which may run next. Hooks a plugin does not implement
 * complete at once, without being handed out. `snapshot()`/`restore` carry progress across a
 * continue-as-new.
 */
export class HookSchedule {
  private readonly parents: number[][];
  /** Unmet prerequisites per (node, hook), at node * 4 + hook. */
  private readonly waiting: Int32Array;
  private readonly doneSet: Uint8Array;
  /** Hooks handed out as followers of another: they are never queued on their own. */
  private readonly claimed: Uint8Array;
  private doneCount = 0;
  private readonly total: number;
  private readyQueue: HookTask[] = [];

  constructor(
    private readonly graph: ScheduleGraph,
    private readonly implemented: (node: number, hook: Hook) => boolean,
    snapshot?: string,
  ) {
    const n = graph.children.length;
    this.total = n * 4;
    this.parents = Array.from({ length: n }, () => []);
    graph.children.forEach((kids, p) => {
      for (const c of kids) this.parents[c]!.push(p);
    });
    this.waiting = new Int32Array(this.total);
    this.doneSet = new Uint8Array(this.total);
    this.claimed = new Uint8Array(this.total);
    for (let i = 0; i < n; i++) {
      const kids = graph.children[i]!.length;
      this.waiting[i * 4 + PB] = this.parents[i]!.length;
      this.waiting[i * 4 + PF] = 1 + kids;
      this.waiting[i * 4 + MAIN] = 1;
      this.waiting[i * 4 + COMPLETE] = 1 + kids;
    }
    const already = snapshot ? decodeDone(snapshot, this.total) : [];
    for (const t of already) {
      this.doneSet[t] = 1;
      this.doneCount++;
    }
    for (const t of already) this.release(t, false);
    const fresh: number[] = [];
    for (let t = 0; t < this.total; t++) {
      if (!this.doneSet[t] && this.waiting[t] === 0) fresh.push(t);
    }
    for (const t of fresh) this.becomeReady(t);
  }

  /** Tasks that became runnable since the last call, in a stable order. */
  takeReady(): HookTask[] {
    const out = this.readyQueue;
    this.readyQueue = [];
    return out;
  }

  /** Marks a handed-out task done, making its successors ready. */
  complete(task: HookTask): void {
    const t = task.node * 4 + HOOKS.indexOf(task.hook);
    if (this.doneSet[t]) return;
    this.doneSet[t] = 1;
    this.doneCount++;
    this.release(t, true);
  }

  get finished(): boolean {
    return this.doneCount === this.total;
  }

  get nodeCount(): number {
    return this.graph.children.length;
  }

  /** Whether every hook of a node has run. */
  nodeDone(node: number): boolean {
    return this.doneSet[node * 4 + COMPLETE] === 1;
  }

  /** The last hook the node implements (its completion ends the resource), if any. */
  lastHookOf(node: number): Hook | undefined {
    for (let h = COMPLETE; h >= PB; h--) if (this.implemented(node, HOOKS[h]!)) return HOOKS[h];
    return undefined;
  }

  /**
   * Own hooks that may run right after `task`, in the same activity, without holding back
   * any other resource: only while the hook just run releases nothing in other resources
   * (prepare_begin of a resource with no children, prepare_finish of one with no parents,
   * main) and the next hook waits on nothing else. A leaf's prepare_begin and
   * prepare_finish go together; so do main and complete once the children completed.
   * Returns them whether implemented or not: the caller runs the implemented ones and
   * completes all of them, in order, when the activity ends.
   */
  claimFollowers(task: HookTask): Hook[] {
    const n = task.node;
    const out: Hook[] = [];
    for (let h = HOOKS.indexOf(task.hook); h < COMPLETE; h++) {
      if (!this.releasesOnlyOwn(n, h) || !this.othersDone(n, h + 1)) break;
      this.claimed[n * 4 + h + 1] = 1;
      out.push(HOOKS[h + 1]!);
    }
    return out;
  }

  private releasesOnlyOwn(node: number, h: number): boolean {
    if (h === PB) return this.graph.children[node]!.length === 0;
    if (h === PF) return this.parents[node]!.length === 0;
    return h === MAIN;
  }

  /** Whether hook `h` of a node waits on nothing but the node's own previous hook. */
  private othersDone(node: number, h: number): boolean {
    const kids = this.graph.children[node]!;
    if (h === PF) return kids.every((c) => this.doneSet[c * 4 + PF] === 1);
    if (h === COMPLETE) return kids.every((c) => this.doneSet[c * 4 + COMPLETE] === 1);
    return true;
  }

  /** Done hooks as a compact string, for continue-as-new. */
  snapshot(): string {
    return encodeDone(this.doneSet);
  }

  private successors(t: number): number[] {
    const node = Math.floor(t / 4);
    switch (t % 4) {
      case PB:
        return [...this.graph.children[node]!.map((c) => c * 4 + PB), node * 4 + PF];
      case PF:
        return [node * 4 + MAIN, ...this.parents[node]!.map((p) => p * 4 + PF)];
      case MAIN:
        return [node * 4 + COMPLETE];
      default:
        return this.parents[node]!.map((p) => p * 4 + COMPLETE);
    }
  }

  private release(t: number, announce: boolean): void {
    for (const s of this.successors(t)) {
      this.waiting[s]! -= 1;
      if (announce && this.waiting[s] === 0 && !this.doneSet[s]) this.becomeReady(s);
    }
  }

  private becomeReady(t: number): void {
    if (this.doneSet[t] || this.claimed[t]) return;
    const task: HookTask = { node: Math.floor(t / 4), hook: HOOKS[t % 4]! };
    if (this.implemented(task.node, task.hook)) {
      this.readyQueue.push(task);
    } else {
      this.complete(task);
    }
  }
}

/** Run-length list of done task numbers: "start+length,..." keeps snapshots small. */
function encodeDone(done: Uint8Array): string {
  const runs: string[] = [];
  let i = 0;
  while (i < done.length) {
    if (!done[i]) {
      i++;
      continue;
    }
    const start = i;
    while (i < done.length && done[i]) i++;
    runs.push(`${start.toString(36)}+${(i - start).toString(36)}`);
  }
  return runs.join(',');
}

function decodeDone(s: string, total: number): number[] {
  const out: number[] = [];
  for (const run of s.split(',')) {
    if (!run) continue;
    const [a, b] = run.split('+');
    const start = parseInt(a ?? '', 36);
    const len = parseInt(b ?? '', 36);
    if (!Number.isInteger(start) || !Number.isInteger(len) || start + len > total) {
      throw new Error(`bad schedule snapshot run ${run}`);
    }
    for (let t = start; t < start + len; t++) out.push(t);
  }
  return out;
}
