/**
 * The DAG: stages expanded over their fan-out items into instances, inputs
 * resolved to upstream instances, and the post-order walk of a requested
 * subgraph (dependencies before dependents, like DVC's planner).
 */
import {
  type InputSpec,
  type Item,
  type Json,
  type Params,
  parseParams,
  type Stage,
} from "./stage.ts";
import { canonicalJson, sha256 } from "./hash.ts";

/** One stage run for one item. */
export interface Instance {
  id: string;
  stage: Stage;
  item: Item;
  /** Values of the stage's declared params. */
  params: Params;
  /** Input name → its spec and the upstream instances it reads. */
  inputs: Record<string, { spec: InputSpec; upstream: Instance[] }>;
}

export interface Graph {
  stages: Stage[];
  instances: Instance[];
}

/** The value at a dotted path of the params tree; a missing path is an error naming the stage. */
export function getParam(tree: Json, path: string, stage: string): Json {
  let node: Json = tree;
  for (const part of path.split(".")) {
    if (
      typeof node !== "object" || node === null || Array.isArray(node) ||
      !(part in node)
    ) {
      throw new Error(
        `Param '${path}' declared by stage '${stage}' is missing from the experiment`,
      );
    }
    node = node[part]!;
  }
  return node;
}

function pickParams(tree: Json, paths: string[], stage: string): Params {
  const params: Params = {};
  for (const path of [...paths].sort()) {
    params[path] = getParam(tree, path, stage);
  }
  return params;
}

/** The params a stage's fan-out is listed from, parsed by its schema when it has one. */
function foreachParams(tree: Json, stage: Stage): Params {
  const foreach = stage.foreach!;
  const picked = pickParams(tree, foreach.params, stage.name);
  return foreach.schema
    ? parseParams(foreach.schema, picked, `Stage '${stage.name}' fan-out`)
    : picked;
}

/** A short readable label for an item: `optimizer=sgd,seed=0`. */
export function itemLabel(item: Item): string {
  const parts: string[] = [];
  for (const key of Object.keys(item).sort()) {
    const value = item[key]!;
    if (value === null || typeof value !== "object") {
      parts.push(`${key}=${value}`);
    } else if (Array.isArray(value)) parts.push(`${key}=${value.join("+")}`);
    else if (Object.keys(value).length === 0) continue;
    else if (typeof value.label === "string") {
      parts.push(`${key}=${value.label}`);
    } else if (typeof value.name === "string") {
      parts.push(`${key}=${value.name}`);
    } else {
      parts.push(
        Object.entries(value).map(([k, v]) =>
          `${k.split(".").pop()}=${
            typeof v === "object" ? sha256(canonicalJson(v)).slice(0, 6) : v
          }`
        ).join(","),
      );
    }
  }
  return parts.join(",");
}

export function instanceId(stage: string, item: Item): string {
  const label = itemLabel(item);
  return label === "" ? stage : `${stage}[${label}]`;
}

/** True when `upstream` agrees with `own` on every key `upstream` has. */
function matches(upstream: Item, own: Item): boolean {
  return Object.keys(upstream).every((key) =>
    key in own && canonicalJson(upstream[key]) === canonicalJson(own[key])
  );
}

/** Checks the stage list and expands it over the params tree into instances. */
export function buildGraph(stages: Stage[], tree: Json): Graph {
  const byName = stagesByName(stages);
  const order = topologicalStages(stages, byName);
  const byStage = new Map<string, Instance[]>();
  const instances: Instance[] = [];
  for (const stage of order) {
    const own = instancesOf(stage, tree, byStage);
    byStage.set(stage.name, own);
    instances.push(...own);
  }
  return { stages: order, instances };
}

/** The stages by name, after checking names are unique and every input names a stage's declared output. */
function stagesByName(stages: Stage[]): Map<string, Stage> {
  const byName = new Map<string, Stage>();
  for (const stage of stages) {
    if (byName.has(stage.name)) {
      throw new Error(`Two stages are named '${stage.name}'`);
    }
    byName.set(stage.name, stage);
  }
  for (const stage of stages) {
    for (const [name, spec] of Object.entries(stage.inputs ?? {})) {
      const upstream = byName.get(spec.stage);
      if (!upstream) {
        throw new Error(
          `Stage '${stage.name}' input '${name}' names unknown stage '${spec.stage}'`,
        );
      }
      if (!upstream.outputs.includes(spec.output)) {
        throw new Error(
          `Stage '${stage.name}' input '${name}' names unknown output '${spec.stage}.${spec.output}' (outputs: ${
            upstream.outputs.join(", ")
          })`,
        );
      }
    }
  }
  return byName;
}

/** A stage's instances, one per fan-out item, wired to the upstream instances (`byStage`) they read. */
function instancesOf(
  stage: Stage,
  tree: Json,
  byStage: Map<string, Instance[]>,
): Instance[] {
  const params = pickParams(tree, stage.params, stage.name);
  // Parsed here, before anything runs, so a bad value fails the whole run
  // up front, naming the stage (the job parses again for the typed value).
  if (stage.schema) {
    parseParams(stage.schema, params, `Stage '${stage.name}' params`);
  }
  const items = stage.foreach
    ? stage.foreach.items(foreachParams(tree, stage))
    : [{}];
  const own: Instance[] = [];
  const ids = new Set<string>();
  for (const item of items) {
    const id = instanceId(stage.name, item);
    if (ids.has(id)) {
      throw new Error(
        `Stage '${stage.name}' fans out to two items labelled '${id}'`,
      );
    }
    ids.add(id);
    own.push({
      id,
      stage,
      item,
      params,
      inputs: inputsOf(stage, id, item, byStage),
    });
  }
  return own;
}

/** An instance's inputs: every upstream instance for an "all" input, else the one whose item matches. */
function inputsOf(
  stage: Stage,
  id: string,
  item: Item,
  byStage: Map<string, Instance[]>,
): Instance["inputs"] {
  const inputs: Instance["inputs"] = {};
  for (const [name, spec] of Object.entries(stage.inputs ?? {})) {
    const candidates = byStage.get(spec.stage)!;
    if ((spec.select ?? "match") === "all") {
      inputs[name] = { spec, upstream: candidates };
      continue;
    }
    const found = candidates.filter((c) => matches(c.item, item));
    if (found.length !== 1) {
      throw new Error(
        `Stage instance '${id}' input '${name}' matches ${found.length} instances of '${spec.stage}', needs exactly one`,
      );
    }
    inputs[name] = { spec, upstream: found };
  }
  return inputs;
}

function topologicalStages(
  stages: Stage[],
  byName: Map<string, Stage>,
): Stage[] {
  const order: Stage[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (stage: Stage, path: string[]) => {
    const mark = state.get(stage.name);
    if (mark === "done") return;
    if (mark === "visiting") {
      throw new Error(
        `The stages form a cycle: ${[...path, stage.name].join(" → ")}`,
      );
    }
    state.set(stage.name, "visiting");
    for (const spec of Object.values(stage.inputs ?? {})) {
      visit(byName.get(spec.stage)!, [...path, stage.name]);
    }
    state.set(stage.name, "done");
    order.push(stage);
  };
  for (const stage of stages) visit(stage, []);
  return order;
}

/**
 * Post-order walk of the subgraph needed for `targets` (stage names; all when
 * empty): every instance appears after all the instances it reads.
 */
export function plan(graph: Graph, targets: string[] = []): Instance[] {
  const known = new Set(graph.stages.map((s) => s.name));
  for (const target of targets) {
    if (!known.has(target)) {
      throw new Error(
        `Unknown stage '${target}' (stages: ${[...known].join(", ")})`,
      );
    }
  }
  const roots = targets.length === 0
    ? graph.instances
    : graph.instances.filter((i) => targets.includes(i.stage.name));
  const out: Instance[] = [];
  const seen = new Set<Instance>();
  const visit = (instance: Instance) => {
    if (seen.has(instance)) return;
    seen.add(instance);
    for (const input of Object.values(instance.inputs)) {
      input.upstream.forEach(visit);
    }
    out.push(instance);
  };
  roots.forEach(visit);
  return out;
}

/** The graph as text lines, or as a Mermaid flowchart. */
export function drawGraph(graph: Graph, mermaid = false): string {
  const lines: string[] = mermaid ? ["flowchart LR"] : [];
  for (const stage of graph.stages) {
    const count = graph.instances.filter((i) => i.stage === stage).length;
    const label = count > 1 ? `${stage.name} ×${count}` : stage.name;
    const inputs = Object.values(stage.inputs ?? {});
    if (mermaid) {
      lines.push(`  ${stage.name}["${label}"]`);
      for (const spec of inputs) {
        lines.push(`  ${spec.stage} -->|${spec.output}| ${stage.name}`);
      }
    } else {
      const from = inputs.map((s) =>
        `${s.stage}.${s.output}${s.select === "all" ? " (all)" : ""}`
      );
      lines.push(from.length ? `${label}  ←  ${from.join(", ")}` : `${label}`);
    }
  }
  return lines.join("\n");
}

/** Every instance `instance` reads from, transitively, in post-order. */
export function ancestorsOf(instance: Instance): Instance[] {
  const out: Instance[] = [];
  const seen = new Set<Instance>();
  const visit = (i: Instance) => {
    for (const input of Object.values(i.inputs)) {
      for (const u of input.upstream) {
        if (seen.has(u)) continue;
        seen.add(u);
        visit(u);
        out.push(u);
      }
    }
  };
  visit(instance);
  return out;
}
