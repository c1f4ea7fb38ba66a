/* Replaces each static chart with an interactive one; records errors in body[data-errors]. */
/* global vegaEmbed */
(() => {
  "use strict";
  const errors = [];
  const record = (message) => {
    errors.push(String(message));
    document.body.setAttribute("data-errors", JSON.stringify(errors));
  };
  const messageOf = (err) => (err && err.message ? err.message : err);
  globalThis.addEventListener("error", (e) => record(e.message));
  globalThis.addEventListener(
    "unhandledrejection",
    (e) => record(messageOf(e.reason)),
  );
  const charts = [...document.querySelectorAll(".chart[data-spec]")];
  const jobs = charts.map((el) => {
    const fallback = el.innerHTML;
    const restore = (err) => {
      el.innerHTML = fallback;
      el.setAttribute("data-rendered", "static");
      record(messageOf(err));
    };
    try {
      const block = document.getElementById(el.getAttribute("data-spec"));
      const spec = JSON.parse(block.textContent);
      el.replaceChildren();
      // deno-lint-ignore no-undef
      return vegaEmbed(el, spec, {
        renderer: "svg",
        // Export only: the editor and source links would leave the page.
        actions: {
          export: true,
          source: false,
          compiled: false,
          editor: false,
        },
        mode: "vega-lite",
        // Exports are named after the figure, e.g. sharpness.svg.
        downloadFileName: el.id.replace(/^chart-/, ""),
      })
        .then(() => el.setAttribute("data-rendered", "vega"))
        .catch(restore);
    } catch (err) {
      restore(err);
      return Promise.resolve();
    }
  });
  Promise.all(jobs).then(() =>
    document.body.setAttribute("data-charts-done", String(charts.length))
  );
})();
