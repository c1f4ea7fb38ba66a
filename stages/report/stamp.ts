/**
 * Stamps run provenance into the report as it is written out (the report
 * stage's `stamp`, called by the CLI for reports/out/<experiment>/ and
 * `publish`).
 *
 * Why this design: the cached HTML is a content-hashed output, so it must be
 * the same bytes on every rerun and every machine (a Slurm node or this one);
 * wall times, dates and hosts differ on each. The cached HTML therefore holds
 * the stage table with keys only, between two markers, and this function
 * swaps that region for the full table (wall time, end, host, timings) from
 * the engine's run records. Readers of the written file see everything; the
 * cache and the lock file's output hashes see results only. A marker in the
 * HTML (rather than, say, a script filling cells in the browser) keeps the
 * table readable without JavaScript and the change confined to one region.
 */
import { Eta } from "eta";
import type {
  RunContext,
  RunProvenance,
  RunRecord,
} from "../../pipeline/stage.ts";
import { decodeText, encodeText } from "../../pipeline/artifact.ts";
import { type Assets, loadAssets } from "./assets.ts";
import { fmt } from "./html.ts";

/** The region of the cached HTML that `stampReport` replaces. */
export const RUN_PROVENANCE_START = "<!--run-provenance-->";
export const RUN_PROVENANCE_END = "<!--/run-provenance-->";

/**
 * The report's `html` output with the run records of its lineage and of the
 * report itself in the stage table; other outputs, and an HTML without
 * exactly one marked region, are returned unchanged.
 */
export function stampReport(
  output: string,
  bytes: Uint8Array,
  runs: RunProvenance,
  assets: Assets = loadAssets(),
): Uint8Array {
  if (output !== "html") return bytes;
  const html = decodeText(bytes);
  const parts = html.split(RUN_PROVENANCE_START);
  if (parts.length !== 2) return bytes;
  const [before, rest] = parts as [string, string];
  const tail = rest.split(RUN_PROVENANCE_END);
  if (tail.length !== 2) return bytes;
  const eta = new Eta({ autoEscape: true, cache: false, useWith: false });
  eta.loadTemplate("@run_provenance", assets.templates["@run_provenance"]!);
  const table = eta.render("@run_provenance", {
    runs: [...runs.lineage, runs.instance].map(row),
    context: runs.context ? contextRow(runs.context) : undefined,
    fmt,
  });
  const stamped =
    `${before}${RUN_PROVENANCE_START}\n${table}  ${RUN_PROVENANCE_END}${
      tail[1]
    }`;
  return encodeText(
    runs.live && runs.live.length > 0
      ? withLiveBanner(stamped, runs.live)
      : stamped,
  );
}

/** The commit as the table shows it: `abc… (uncommitted changes)` when the tree is dirty. */
function contextRow(c: RunContext) {
  return {
    ...c,
    commit: c.dirty ? `${c.commit} (with uncommitted changes)` : c.commit,
  };
}

/**
 * A live view's banner after the page header: which trainings are shown
 * from partial records, at which epoch (pipeline/live.ts).
 */
export function withLiveBanner(
  html: string,
  live: NonNullable<RunProvenance["live"]>,
): string {
  const items = live.map((l) =>
    `<li>${escapeHtml(l.id)}: in progress: epoch ${l.done} of ${l.total}</li>`
  ).join("");
  const banner =
    `<aside class="banner live-banner" id="live-banner" role="status"><strong>Live view: in progress.</strong> ${live.length} training(s) are shown from partial records written while they run; their curves stop at the epoch reached (a group's mean and band after it cover the seeds that got further), and every number below may change when the run finishes. What is computed from a finished run's checkpoints (sharpness, loss barriers) appears once it is cached. Rerun <code>deno task report --live</code> to refresh.<ul>${items}</ul></aside>`;
  const at = html.indexOf("</header>");
  if (at < 0) return html.replace(/<body[^>]*>/, (m) => `${m}\n${banner}`);
  const end = at + "</header>".length;
  return `${html.slice(0, end)}\n${banner}${html.slice(end)}`;
}

/** A run record as the table shows it: timings as `name value` pairs. */
function row(r: RunRecord) {
  return {
    ...r,
    timings: Object.entries(r.timings ?? {}).map(([k, v]) => `${k} ${fmt(v)}`)
      .join(", ") || "—",
  };
}

/** Text escaped for HTML element content. */
function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(
    ">",
    "&gt;",
  );
}
