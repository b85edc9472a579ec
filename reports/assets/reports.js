/* custintel reports: draws the Plotly charts and makes data tables sortable and searchable.
   Loaded after plotly.min.js (both bundled in the site; nothing is fetched from a CDN). */
(function () {
  "use strict";

  function drawCharts(root) {
    (root || document).querySelectorAll("figure.ci-chart:not([data-drawn])").forEach(function (figure) {
      var plot = figure.querySelector(".ci-plot");
      var spec = JSON.parse(figure.querySelector("script.ci-chart-spec").textContent);
      Plotly.newPlot(plot, spec.data, spec.layout, spec.config).then(function () {
        figure.setAttribute("data-drawn", "true");
      });
    });
  }

  function sortKey(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell || !cell.hasAttribute("data-sort")) return null;
    var raw = cell.getAttribute("data-sort");
    return numeric ? parseFloat(raw) : raw;
  }

  function compare(a, b, numeric) {
    if (a === null || b === null) return a === b ? 0 : (a === null ? 1 : -1);
    if (numeric) return a - b;
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }

  function sortTable(table, header) {
    var index = header.cellIndex;
    var numeric = header.getAttribute("data-type") === "number";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("thead th").forEach(function (th) {
      th.setAttribute("aria-sort", "none");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (x, y) {
      var a = sortKey(x, index, numeric), b = sortKey(y, index, numeric);
      if (a === null || b === null) return compare(a, b, numeric); /* missing values last */
      return ascending ? compare(a, b, numeric) : compare(b, a, numeric);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function filterTable(wrapper, text) {
    var needle = text.trim().toLowerCase();
    var rows = wrapper.querySelectorAll("tbody tr");
    var shown = 0;
    rows.forEach(function (row) {
      var match = needle === "" || row.textContent.toLowerCase().indexOf(needle) !== -1;
      row.hidden = !match;
      if (match) shown += 1;
    });
    var count = wrapper.querySelector(".ci-table-count");
    if (count) {
      count.textContent = needle === "" ? rows.length.toLocaleString() + " rows"
        : shown.toLocaleString() + " of " + rows.length.toLocaleString() + " rows";
    }
  }

  function wireTables(root) {
    (root || document).querySelectorAll("div.ci-table:not([data-wired])").forEach(function (wrapper) {
      wrapper.setAttribute("data-wired", "true");
      var table = wrapper.querySelector("table");
      table.querySelectorAll("thead th").forEach(function (header) {
        header.querySelector("button").addEventListener("click", function () {
          sortTable(table, header);
        });
      });
      var search = wrapper.querySelector("input.ci-table-search");
      if (search) {
        search.addEventListener("input", function () { filterTable(wrapper, search.value); });
      }
    });
  }

  function start() {
    wireTables();
    drawCharts();
  }

  // inputs.js re-renders components in served mode and redraws what it replaced
  window.CI_REPORTS = { refresh: function (root) { wireTables(root); drawCharts(root); } };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
