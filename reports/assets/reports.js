/* custintel reports: draws the Plotly charts (with the site's one template, chart-theme.js)
   and makes data tables sortable, searchable and paged. Loaded after plotly.min.js and
   chart-theme.js (all bundled in the site; nothing is fetched from a CDN). */
(function () {
  "use strict";

  var PAGE_SIZE = 25;

  function drawCharts(root) {
    (root || document).querySelectorAll("figure.ci-chart:not([data-drawn])")
      .forEach(function (figure) {
      var plot = figure.querySelector(".ci-plot");
      var spec = JSON.parse(figure.querySelector("script.ci-chart-spec").textContent);
      spec.layout.template = window.CI_CHART_TEMPLATE;
      Plotly.newPlot(plot, spec.data, spec.layout, spec.config).then(function () {
        figure.setAttribute("data-drawn", "true");
      });
    });
  }

  /* charts follow their column's width: on resize (Plotly's responsive config) and for print */
  function resizeCharts() {
    if (!window.Plotly) return;
    document.querySelectorAll("figure.ci-chart .ci-plot").forEach(function (plot) {
      if (plot.data) Plotly.Plots.resize(plot);
    });
  }

  /* print: the page takes the paper's width only once the print media query matches (after
     "beforeprint"), and Plotly's own resize waits 100 ms, too late for the printout: each chart
     is redrawn at its column's print width right then, and follows the window again after */
  function printCharts(query) {
    if (!window.Plotly) return;
    document.querySelectorAll("figure.ci-chart .ci-plot").forEach(function (plot) {
      if (plot.data) Plotly.relayout(plot, {width: query.matches ? plot.clientWidth : null});
    });
  }

  function rowsWord(count) {
    return count.toLocaleString("en-US") + (count === 1 ? " row" : " rows");
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

  function sortTable(wrapper, table, header) {
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
    wrapper.ciPage = 0;
    showPage(wrapper);
  }

  /* rows matching the search (data-match), then one page of them shown */
  function showPage(wrapper) {
    var rows = Array.prototype.slice.call(wrapper.querySelectorAll("tbody tr"));
    var matching = rows.filter(function (row) { return row.getAttribute("data-match") !== "no"; });
    var size = wrapper.hasAttribute("data-page-size")
      ? parseInt(wrapper.getAttribute("data-page-size"), 10) : PAGE_SIZE;
    var pages = Math.max(1, Math.ceil(matching.length / size));
    var page = Math.min(wrapper.ciPage || 0, pages - 1);
    wrapper.ciPage = page;
    rows.forEach(function (row) { row.hidden = true; });
    matching.slice(page * size, (page + 1) * size).forEach(function (row) { row.hidden = false; });
    var count = wrapper.querySelector(".ci-table-count");
    if (count) {
      count.textContent = matching.length === rows.length ? rowsWord(rows.length)
        : matching.length.toLocaleString("en-US") + " of " + rowsWord(rows.length);
    }
    var pager = wrapper.querySelector(".ci-pager");
    if (pager) {
      pager.hidden = pages <= 1;
      pager.querySelector(".ci-page-label").textContent = "Page " + (page + 1) + " of " + pages;
      pager.querySelector(".ci-prev").disabled = page === 0;
      pager.querySelector(".ci-next").disabled = page >= pages - 1;
    }
  }

  function filterTable(wrapper, text) {
    var needle = text.trim().toLowerCase();
    wrapper.querySelectorAll("tbody tr").forEach(function (row) {
      var match = needle === "" || row.textContent.toLowerCase().indexOf(needle) !== -1;
      row.setAttribute("data-match", match ? "yes" : "no");
    });
    wrapper.ciPage = 0;
    showPage(wrapper);
  }

  function wireTables(root) {
    (root || document).querySelectorAll("div.ci-table:not([data-wired])").forEach(function (wrapper) {
      wrapper.setAttribute("data-wired", "true");
      var table = wrapper.querySelector("table");
      table.querySelectorAll("thead th").forEach(function (header) {
        header.querySelector("button").addEventListener("click", function () {
          sortTable(wrapper, table, header);
        });
      });
      var search = wrapper.querySelector("input.ci-table-search");
      if (search) {
        search.addEventListener("input", function () { filterTable(wrapper, search.value); });
      }
      var pager = wrapper.querySelector(".ci-pager");
      if (pager) {
        pager.querySelector(".ci-prev").addEventListener("click", function () {
          wrapper.ciPage -= 1; showPage(wrapper);
        });
        pager.querySelector(".ci-next").addEventListener("click", function () {
          wrapper.ciPage += 1; showPage(wrapper);
        });
      }
      wrapper.ciPage = 0;
      showPage(wrapper);
    });
  }

  /* a catalogue link (#member) opens the page that holds its row */
  function revealTarget() {
    if (!location.hash) return;
    var row = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!row || row.tagName !== "TR") return;
    var wrapper = row.closest("div.ci-table");
    var rows = Array.prototype.slice.call(wrapper.querySelectorAll("tbody tr"));
    var size = wrapper.hasAttribute("data-page-size")
      ? parseInt(wrapper.getAttribute("data-page-size"), 10) : PAGE_SIZE;
    wrapper.ciPage = Math.floor(rows.indexOf(row) / size);
    showPage(wrapper);
    row.scrollIntoView();
  }

  /* Material's search dialog has no accessible name */
  function nameDialogs() {
    document.querySelectorAll('[role="dialog"]:not([aria-label]):not([aria-labelledby])')
      .forEach(function (dialog) { dialog.setAttribute("aria-label", "Search the site"); });
  }

  function start() {
    nameDialogs();
    wireTables();
    revealTarget();
    drawCharts();
    window.matchMedia("print").addEventListener("change", printCharts);
    window.addEventListener("afterprint", resizeCharts);
    window.addEventListener("hashchange", revealTarget);
  }

  // inputs.js re-renders components in served mode and redraws what it replaced
  window.CI_REPORTS = { refresh: function (root) { wireTables(root); drawCharts(root); } };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
