/**
 * Staleness: the one rule `reproduce` (to decide what runs), `reproduce
 * --dry-run` and `status` (to say what would) all apply, so they cannot
 * disagree, and the reasons `status --why` gives.
 *
 * An instance whose inputs are all settled is fresh when the run cache holds
 * its key, else stale. An instance that reads an instance about to run cannot
 * be judged yet: it reruns only if that upstream's outputs change (a comment
 * or a refactor reruns one stage, and its dependents find their inputs
 * unchanged). It is "waiting", unless its own params, item, code or versions
 * changed since the lock recorded it, which makes it stale in any case.
 */
import type { Item, Json, Stage } from "./stage.ts";
import type { Instance } from "./graph.ts";
import type { LockEntry } from "./lock.ts";
import type { RunEntry, Store } from "./store.ts";
import type { Fingerprint } from "./fingerprint.ts";
import { canonicalJson } from "./hash.ts";
import { getParam } from "./graph.ts";
import { describeVersionChange } from "./versions.ts";
import type { Running } from "./running.ts";

/** The parts of a cache key, kept in the lock so `status --why` can diff them. */
export interface KeyParts {
  stage: string;
  item: Json;
  params: Record<string, Json>;
  inputs: Record<string, string | string[]>;
  code: Fingerprint;
  versions: Record<string, string>;
}

export type Freshness = "fresh" | "stale" | "waiting" | "running";

/** What the rule says about one instance. */
export interface Judgement {
  state: Freshness;
  /** Known when every input is settled. */
  key?: string;
  parts?: KeyParts;
  /** The cached run, when fresh. */
  run?: RunEntry;
  reasons: string[];
}

/** What the rule reads: the engine's key computation, the cache and the lock. */
export interface JudgeContext {
  keyParts(
    instance: Instance,
    inputs: Record<string, string | string[]>,
  ): KeyParts;
  cacheKey(parts: KeyParts): string;
  store: Store;
  /** The lock's record of an instance, by id. */
  previous(id: string): LockEntry | undefined;
  /** The experiment's params tree, to name an item's fields by their param path. */
  tree?: Json;
  /** Instances another process is running now (status only). */
  running?: Running;
}

/**
 * Judges an instance. `inputs` are its upstream output hashes, or undefined
 * while `unsettled` (upstream instances that are stale, waiting or running)
 * have not produced theirs.
 */
export async function judge(
  ctx: JudgeContext,
  instance: Instance,
  inputs: Record<string, string | string[]> | undefined,
  unsettled: Array<{ id: string; state: Freshness }> = [],
): Promise<Judgement> {
  const previous = ctx.previous(instance.id);
  if (inputs === undefined) {
    const parts = ctx.keyParts(instance, previous?.inputs ?? {});
    const own = previous
      ? explain(previous, parts, "", ctx.tree, instance.stage, {
        inputs: false,
      })
      : ["never run"];
    const waits = unsettled.map((u) =>
      `reads '${u.id}', which is ${u.state}: reruns if its outputs change`
    );
    // Its own key parts changed: it runs whatever its inputs turn out to be.
    if (own.length > 0) return { state: "stale", reasons: [...own, ...waits] };
    return { state: "waiting", reasons: waits };
  }
  const parts = ctx.keyParts(instance, inputs);
  const key = ctx.cacheKey(parts);
  const running = ctx.running?.keys.get(key);
  if (running !== undefined) {
    return {
      state: "running",
      key,
      parts,
      reasons: [`being run by pid ${ctx.running!.pid} on ${ctx.running!.host}`],
    };
  }
  const run = await ctx.store.getRun(key);
  if (run) return { state: "fresh", key, parts, run, reasons: [] };
  const reasons = explain(previous, parts, key, ctx.tree, instance.stage);
  const other = ctx.running?.ids.get(instance.id);
  if (other !== undefined) {
    reasons.push(
      `a run of it with other key parts (started before this change) is in progress, pid ${
        ctx.running!.pid
      }`,
    );
  }
  return { state: "stale", key, parts, reasons };
}

/**
 * What differs between the lock's record of an instance and its key parts
 * now: each param path (into lists of labelled entries too, e.g.
 * `optimizers[adam].lr: 0.001 → 0.002`), the fan-out item's fields, each
 * input, each source file and each version, old → new.
 */
export function explain(
  previous: LockEntry | undefined,
  parts: KeyParts,
  key: string,
  tree?: Json,
  stage?: Stage,
  options: { inputs?: boolean } = {},
): string[] {
  if (!previous) return ["never run"];
  const reasons = [
    ...paramReasons(previous.params, parts.params),
    ...itemReasons(previous.item, parts.item, tree, stage),
    ...(options.inputs ?? true
      ? inputReasons(previous.inputs, parts.inputs)
      : []),
    ...sourceReasons(previous.code, parts.code.files),
    ...versionReasons(previous.versions, parts.versions),
  ];
  if (reasons.length === 0 && key !== "") {
    reasons.push(
      previous.key === key
        ? "outputs missing from the cache"
        : "key changed (the lock's record predates how keys are formed now)",
    );
  }
  return reasons;
}

/** Each changed param path, old → new. */
function paramReasons(
  before: Record<string, Json>,
  after: Record<string, Json>,
): string[] {
  return union(Object.keys(before), Object.keys(after)).flatMap((path) =>
    diffJson(path, before[path], after[path]).map((change) => `param ${change}`)
  );
}

/** Each changed field of the fan-out item, named by its param path in the tree. */
function itemReasons(
  previous: LockEntry["item"],
  current: KeyParts["item"],
  tree?: Json,
  stage?: Stage,
): string[] {
  const old = (previous ?? {}) as Item;
  const item = (current ?? {}) as Item;
  return union(Object.keys(old), Object.keys(item)).flatMap((field) => {
    const [before, after] = [old[field], item[field]];
    const path = itemPath(field, after ?? before, tree, stage);
    return diffJson(path, before, after).map((change) => `param ${change}`);
  });
}

/** Each input whose upstream output hashes changed. */
function inputReasons(
  previous: LockEntry["inputs"],
  current: KeyParts["inputs"],
): string[] {
  return changedEntries(
    previous,
    current,
    (a, b) => canonicalJson(a ?? null) === canonicalJson(b ?? null),
  ).map((
    [name, before, after],
  ) => `input ${name} changed: ${shortHashes(before)} → ${shortHashes(after)}`);
}

/** Each source file changed, newly imported or no longer imported. */
function sourceReasons(
  previous: Record<string, string>,
  current: Record<string, string>,
): string[] {
  return changedEntries(previous, current).map(([file, before, after]) =>
    before === undefined
      ? `source ${file} newly imported`
      : after === undefined
      ? `source ${file} no longer imported`
      : `source ${file} changed`
  );
}

/** Each version that changed, old → new. */
function versionReasons(
  previous: Record<string, string>,
  current: Record<string, string>,
): string[] {
  return changedEntries(previous, current).map(([name, before, after]) =>
    `version ${name}: ${describeVersionChange(before, after)}`
  );
}

/** The keys of either record whose values differ (by `same`), sorted, with both values. */
function changedEntries<T>(
  previous: Record<string, T>,
  current: Record<string, T>,
  same: (a: T | undefined, b: T | undefined) => boolean = (a, b) => a === b,
): Array<[string, T | undefined, T | undefined]> {
  return union(Object.keys(previous), Object.keys(current))
    .map((k): [string, T | undefined, T | undefined] => [
      k,
      previous[k],
      current[k],
    ])
    .filter(([, before, after]) => !same(before, after));
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}

function shortHashes(value: string | string[] | undefined): string {
  if (value === undefined) return "none";
  return Array.isArray(value)
    ? `[${value.map((h) => h.slice(0, 12)).join(", ")}]`
    : value.slice(0, 12);
}

/** The name an entry of a list goes by: its label, else its name. */
function entryLabel(value: Json | undefined): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return undefined;
  }
  const label = value["label"] ?? value["name"];
  return typeof label === "string" ? label : undefined;
}

/**
 * The param path an item field comes from: an item's labelled entry (the
 * train stage's `optimizer`) is found in the fan-out param lists by its
 * label, so Adam's lr reads `optimizers[adam].lr`; otherwise `item.<field>`.
 */
function itemPath(
  field: string,
  value: Json | undefined,
  tree: Json | undefined,
  stage: Stage | undefined,
): string {
  const label = entryLabel(value);
  if (label !== undefined && tree !== undefined && stage?.foreach) {
    for (const param of stage.foreach.params) {
      let list: Json;
      try {
        list = getParam(tree, param, stage.name);
      } catch {
        continue;
      }
      if (Array.isArray(list) && list.some((e) => entryLabel(e) === label)) {
        return `${param}[${label}]`;
      }
    }
  }
  return `item.${field}`;
}

/**
 * Every leaf that differs between two JSON values, as `path: old → new`.
 * Objects recurse by key; lists whose entries all carry distinct labels match
 * entries by label (`[adam]`), lists of equal length by index (`[0]`).
 */
export function diffJson(
  path: string,
  before: Json | undefined,
  after: Json | undefined,
): string[] {
  const show = (v: Json | undefined) =>
    v === undefined ? "none" : JSON.stringify(v);
  if (canonicalJson(before ?? null) === canonicalJson(after ?? null)) {
    if ((before === undefined) === (after === undefined)) return [];
  }
  const isObject = (v: Json | undefined): v is Record<string, Json> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObject(before) && isObject(after)) {
    return union(Object.keys(before), Object.keys(after)).flatMap((k) =>
      diffJson(`${path}.${k}`, before[k], after[k])
    );
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const labels = (list: Json[]) => list.map(entryLabel);
    const [a, b] = [labels(before), labels(after)];
    const distinct = (l: Array<string | undefined>) =>
      l.every((x) => x !== undefined) && new Set(l).size === l.length;
    if (distinct(a) && distinct(b)) {
      return union(a as string[], b as string[]).flatMap((label) =>
        diffJson(
          `${path}[${label}]`,
          before[a.indexOf(label)],
          after[b.indexOf(label)],
        )
      );
    }
    if (before.length === after.length && before.some(isObject)) {
      return before.flatMap((v, i) => diffJson(`${path}[${i}]`, v, after[i]));
    }
  }
  return [`${path}: ${show(before)} → ${show(after)}`];
}

/** One line of `status`. */
export interface StatusLine {
  id: string;
  state: Freshness;
  /** True when state is "fresh". */
  fresh: boolean;
  key?: string;
  outputs?: Record<string, string>;
  reasons: string[];
}

/**
 * Judges every instance of `order` (a post-order walk), each after the
 * instances it reads: the status of a subgraph.
 */
export async function statusOf(
  ctx: JudgeContext,
  order: Instance[],
): Promise<StatusLine[]> {
  const lines = new Map<Instance, StatusLine>();
  for (const instance of order) {
    const upstream = Object.values(instance.inputs).flatMap((i) => i.upstream);
    const unsettled = [...new Set(upstream)].filter((u) =>
      lines.get(u)!.state !== "fresh"
    ).map((u) => ({ id: u.id, state: lines.get(u)!.state }));
    const inputs = unsettled.length > 0
      ? undefined
      : inputHashesOf(instance, (u) => lines.get(u)!.outputs!);
    const judgement = await judge(ctx, instance, inputs, unsettled);
    lines.set(instance, {
      id: instance.id,
      state: judgement.state,
      fresh: judgement.state === "fresh",
      ...(judgement.key ? { key: judgement.key } : {}),
      ...(judgement.run ? { outputs: judgement.run.outputs } : {}),
      reasons: judgement.reasons,
    });
  }
  return order.map((i) => lines.get(i)!);
}

/** Upstream output hashes per input: one hash, or a list for `select: "all"`. */
export function inputHashesOf(
  instance: Instance,
  outputsOf: (u: Instance) => Record<string, string>,
): Record<string, string | string[]> {
  const hashes: Record<string, string | string[]> = {};
  for (const [name, { spec, upstream }] of Object.entries(instance.inputs)) {
    const list = upstream.map((u) => outputsOf(u)[spec.output]!);
    hashes[name] = (spec.select ?? "match") === "all" ? list : list[0]!;
  }
  return hashes;
}
