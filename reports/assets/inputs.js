/* custintel reports: page inputs, URL state, cross-filtering and (served) customer search.
   Static site: an input whose every option was pre-computed shows the matching variant of each
   component (exact governed numbers, nothing re-aggregated here); other inputs are disabled.
   Served by `custintel serve` (/_app/info answers): every change re-renders the page's
   components on the server (/_app/render), clicking a bar or point filters the page by that
   member with a "filtered by" chip, and a search box opens any customer's 360.
   The state lives in the URL (?segment=SMB&xf=segment:Enterprise): a link reproduces the view. */
(function () {
  "use strict";
  var served = false;
  var crossFilter = null;  // "member:value"
  // assets/custintel/mode.json beside this script: {"served": false} in the static site,
  // answered {"served": true} by `custintel serve`
  var modeUrl = document.currentScript ?
    document.currentScript.src.replace(/inputs\.js(\?.*)?$/, "mode.json") : null;

  function inputs() { return Array.prototype.slice.call(document.querySelectorAll(".ci-input")); }

  function valueOf(box) {
    var type = box.getAttribute("data-ci-type");
    if (type === "buttons") {
      var on = box.querySelector('button[aria-pressed="true"]');
      return on ? on.getAttribute("data-value") : "";
    }
    if (type === "date_range") {
      var dates = box.querySelectorAll('input[type="date"]');
      return dates[0].value && dates[1].value ? dates[0].value + "," + dates[1].value : "";
    }
    var select = box.querySelector("select");
    if (select && select.multiple) {
      return Array.prototype.filter.call(select.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; }).join(",");
    }
    return (select || box.querySelector("input")).value;
  }

  function setValue(box, value) {
    var type = box.getAttribute("data-ci-type");
    if (type === "buttons") {
      box.querySelectorAll("button").forEach(function (b) {
        b.setAttribute("aria-pressed", b.getAttribute("data-value") === value ? "true" : "false");
      });
    } else if (type === "date_range") {
      var parts = value.split(","), dates = box.querySelectorAll('input[type="date"]');
      dates[0].value = parts[0] || ""; dates[1].value = parts[1] || "";
    } else {
      var select = box.querySelector("select");
      if (select && select.multiple) {
        var chosen = value.split(",");
        Array.prototype.forEach.call(select.options, function (o) {
          o.selected = chosen.indexOf(o.value) >= 0;
        });
      } else {
        (select || box.querySelector("input")).value = value;
      }
    }
  }

  function stateQuery() {
    var params = new URLSearchParams();
    inputs().forEach(function (box) {
      var value = valueOf(box);
      if (value) params.set(box.getAttribute("data-ci-input"), value);
    });
    if (crossFilter) params.set("xf", crossFilter);
    return params;
  }

  function saveState() {
    var query = stateQuery().toString();
    history.replaceState(null, "", location.pathname + (query ? "?" + query : "") + location.hash);
  }

  function redraw(root) {
    if (window.CI_REPORTS) window.CI_REPORTS.refresh(root);
    wireChartClicks();
  }

  function showVariants(name, value) {
    document.querySelectorAll('.ci-variants[data-ci-input="' + name + '"]').forEach(function (set) {
      var found = false;
      set.querySelectorAll(":scope > [data-ci-variant]").forEach(function (variant) {
        var match = variant.getAttribute("data-ci-variant") === value;
        found = found || match;
        variant.hidden = !match;
      });
      if (!found) set.querySelector(":scope > [data-ci-variant]").hidden = false;
    });
    if (window.Plotly) {
      document.querySelectorAll(".ci-variants > :not([hidden]) .ci-plot").forEach(function (p) {
        if (p.data) window.Plotly.Plots.resize(p);
      });
    }
  }

  function chip() {
    var old = document.querySelector(".ci-filter-chip");
    if (old) old.remove();
    if (!crossFilter) return;
    var parts = crossFilter.split(":"), member = parts.shift(), value = parts.join(":");
    var box = document.createElement("p");
    box.className = "ci-filter-chip";
    var label = document.createElement("span");
    label.textContent = "Filtered by " + member.replace(/_/g, " ") + ": " + value + " ";
    var clear = document.createElement("button");
    clear.type = "button";
    clear.textContent = "\u2715 clear";
    clear.setAttribute("aria-label", "Clear the filter " + member + " = " + value);
    clear.addEventListener("click", function () { crossFilter = null; changed(); });
    box.appendChild(label); box.appendChild(clear);
    var heading = document.querySelector("article h1");
    (heading ? heading.parentNode : document.body).insertBefore(box,
      heading ? heading.nextSibling : document.body.firstChild);
  }

  var latest = 0;  // the newest request: older answers arriving late are dropped

  function showError(message) {
    var note = document.querySelector(".ci-error");
    if (!message) { if (note) note.remove(); return; }
    if (!note) {
      note = document.createElement("p");
      note.className = "ci-error";
      note.setAttribute("role", "alert");
      document.querySelector("article").prepend(note);
    }
    note.textContent = "Could not update the page: " + message;
  }

  function rerender(asked) {
    // `asked`: the URL's own parameters on the first render, so that the server judges a
    // value the controls cannot show (and says so) instead of the page dropping it
    var params = asked || stateQuery();
    params.set("page", location.pathname);
    var number = ++latest;
    document.body.setAttribute("data-ci-loading", "true");
    return fetch("/_app/render?" + params.toString()).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.error || response.statusText);
        return body;
      });
    }).then(function (body) {
      if (number !== latest) return;
      showError(null);
      Object.keys(body.slots).forEach(function (slot) {
        var target = document.querySelector('[data-ci-slot-id="' + slot + '"]');
        if (target) target.innerHTML = body.slots[slot];
      });
      redraw(document);
      chip();
      document.body.setAttribute("data-ci-loading", "false");
      document.body.setAttribute("data-ci-rendered", params.toString());
    }).catch(function (error) {
      if (number !== latest) return;
      document.body.setAttribute("data-ci-loading", "false");
      document.body.setAttribute("data-ci-rendered", params.toString());
      showError(error.message);
    });
  }

  function changed() {
    saveState();
    if (served) { rerender(); return; }
    inputs().forEach(function (box) {
      showVariants(box.getAttribute("data-ci-input"), valueOf(box));
    });
    chip();
  }

  function precomputedInputFor(member) {
    return inputs().filter(function (box) {
      return box.getAttribute("data-ci-precomputed") === "true" &&
        box.getAttribute("data-ci-input") === member;
    })[0];
  }

  function wireChartClicks() {
    document.querySelectorAll('figure.ci-chart[data-drawn="true"]').forEach(function (figure) {
      var plot = figure.querySelector(".ci-plot");
      var x = figure.getAttribute("data-x");
      if (!x || !plot.on || plot.getAttribute("data-ci-click")) return;
      plot.setAttribute("data-ci-click", "true");
      plot.on("plotly_click", function (event) {
        if (!event.points || !event.points.length) return;
        var member = x.split(".")[1], value = String(event.points[0].x);
        if (served) { crossFilter = member + ":" + value; changed(); return; }
        var box = precomputedInputFor(member);  // static: only via a pre-computed input
        if (box) { setValue(box, value); changed(); }
      });
    });
  }

  function searchBox() {
    var box = document.createElement("div");
    box.className = "ci-customer-search";
    box.innerHTML = '<label>Customer 360 <input type="search" ' +
      'placeholder="customer id or name" aria-label="Find a customer"></label><ul></ul>';
    var field = box.querySelector("input"), list = box.querySelector("ul"), timer = null;
    field.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch("/_app/customers?q=" + encodeURIComponent(field.value)).then(function (r) {
          return r.json();
        }).then(function (body) {
          list.textContent = "";
          body.customers.forEach(function (customer) {
            var item = document.createElement("li"), link = document.createElement("a");
            link.href = customer.url;
            link.textContent = customer.id + (customer.name ? " \u2013 " + customer.name : "");
            item.appendChild(link); list.appendChild(item);
          });
        });
      }, 200);
    });
    var article = document.querySelector("article");
    if (article) article.prepend(box);
  }

  function start() {
    var params = new URLSearchParams(location.search);
    crossFilter = params.get("xf");
    inputs().forEach(function (box) {
      var name = box.getAttribute("data-ci-input");
      if (params.has(name)) setValue(box, params.get(name));
      box.addEventListener("change", changed);
      if (box.getAttribute("data-ci-type") === "text") {  // re-query as the user types
        var typing = null;
        box.querySelector("input").addEventListener("input", function () {
          clearTimeout(typing);
          typing = setTimeout(changed, 400);
        });
      }
      box.querySelectorAll("button").forEach(function (button) {
        button.addEventListener("click", function () {
          setValue(box, button.getAttribute("data-value")); changed();
        });
      });
    });
    setInterval(wireChartClicks, 300);
    var probe = location.protocol === "file:" || !modeUrl ? Promise.reject(new Error("file")) :
      fetch(modeUrl).then(function (r) { return r.ok ? r.json() : Promise.reject(r); });
    probe.then(function (info) {
      served = Boolean(info && info.served);
      if (!served) throw new Error("static");
      document.body.setAttribute("data-ci-mode", "served");
      inputs().forEach(function (box) { box.setAttribute("data-ci-precomputed", "true"); });
      document.querySelectorAll(".ci-input-note").forEach(function (n) { n.hidden = true; });
      searchBox();
      return rerender(new URLSearchParams(location.search));  // the URL's state, checked
    }).catch(function () {
      document.body.setAttribute("data-ci-mode", "static");
      inputs().forEach(function (box) {
        if (box.getAttribute("data-ci-precomputed") !== "true") {  // only the note shows
          box.querySelectorAll("select, input, button").forEach(function (c) { c.disabled = true; });
          var control = box.querySelector(".ci-input-control");
          if (control) control.hidden = true;
        }
      });
      changed();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
