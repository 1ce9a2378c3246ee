// floe web: the graph page's chart (uPlot, vendored in /static/uplot.js),
// drawn from the page's own JSON link. No inline script: the page's
// Content-Security-Policy allows scripts from this server only.
(function () {
  "use strict";
  // Okabe-Ito and Tol's muted palette: told apart by colour-blind readers.
  var COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
    "#F0E442", "#332288", "#117733", "#882255", "#44AA99", "#999933", "#AA4499", "#88CCEE"];
  var OTHER = "#9a9a9a";

  function human(v) {
    var u = ["", "k", "M", "G", "T", "P"], i = 0;
    while (Math.abs(v) >= 1000 && i < u.length - 1) { v /= 1000; i++; }
    return (i === 0 ? v.toFixed(v < 10 ? 1 : 0) : v.toFixed(v < 10 ? 2 : 1)) + u[i];
  }

  // A count (bytes, packets, flows): whole below 1000, "7" and not "7.0".
  function count(v) {
    return Math.abs(v) < 1000 ? String(Math.round(v)) : human(v);
  }

  function draw(box, doc) {
    var a = doc.answer, unit = doc.unit, secs = a.interval_ms / 1000;
    var field = a.measure;
    function conv(c) {
      var v = c[field];
      if (unit === "bits") return v * 8 / secs;
      if (unit === "bytes") return v;
      return v / secs;
    }
    var rows = a.series.map(function (s, i) {
      return { label: s.name || s.label, key: s.key, colour: COLOURS[i % COLOURS.length], values: s.values.map(conv) };
    });
    if (a.other) rows.push({ label: "other", key: null, colour: OTHER, values: a.other.values.map(conv) });
    var xs = a.starts.map(function (t) { return t / 1000; });
    var stacked = doc.stacked;
    var data = [xs], acc = xs.map(function () { return 0; });
    rows.forEach(function (r) {
      if (stacked) {
        acc = acc.map(function (v, i) { return v + r.values[i]; });
        data.push(acc.slice());
      } else {
        data.push(r.values);
      }
    });
    var series = [{}];
    rows.forEach(function (r, i) {
      series.push({
        label: r.label,
        stroke: r.colour,
        width: 1,
        fill: stacked ? r.colour + "cc" : undefined,
        value: function (u, v, si, idx) { return idx == null ? "" : human(rows[si - 1].values[idx]); }
      });
    });
    var bands = [];
    if (stacked) for (var i = rows.length; i > 1; i--) bands.push({ series: [i, i - 1], fill: rows[i - 1].colour + "cc" });
    if (stacked && rows.length) series[1].fill = rows[0].colour + "cc";
    var width = Math.max(300, box.clientWidth);
    var opts = {
      width: width,
      height: width < 600 ? 240 : 340,
      series: series,
      bands: bands,
      // Rates and volumes are never negative: the y axis starts at 0, so a
      // stacked area reads as a share of the total, not of its dips.
      scales: {
        x: { time: true },
        y: { range: function (u, min, max) { return [0, uPlot.rangeNum(0, max > 0 ? max : 1, 0.1, true)[1]]; } }
      },
      axes: [{}, { values: function (u, vs) { return vs.map(human); }, label: doc.label, size: 60 }],
      legend: { show: width >= 600 },
      cursor: { drag: { x: true, y: false } },
      // Where the y axis starts once drawn, for the browser test to read
      // (uPlot sets its scales after the constructor returns).
      hooks: { draw: [function (u) { box.setAttribute("data-y-min", String(u.scales.y.min)); }] }
    };
    box.textContent = "";
    var plot = new uPlot(opts, data, box);
    // A click on the chart opens the details of the series under it.
    plot.over.addEventListener("click", function () {
      var idx = plot.cursor.idx, top = plot.cursor.top;
      if (idx == null || top == null) return;
      var y = plot.posToVal(top, "y");
      for (var s = 1; s < data.length; s++) {
        var lo = stacked && s > 1 ? data[s - 1][idx] : 0;
        if (y >= lo && y <= data[s][idx] && rows[s - 1].key) {
          var link = document.querySelector('a[data-series="' + (s - 1) + '"]');
          if (link) window.location.href = link.href;
          return;
        }
      }
    });
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(300, box.clientWidth), height: box.clientWidth < 600 ? 240 : 340 });
    });
  }

  function init() {
    var box = document.getElementById("chart");
    if (!box || !box.dataset.src) return;
    fetch(box.dataset.src, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status + " " + r.statusText); return r.json(); })
      .then(function (doc) { draw(box, doc); box.setAttribute("data-drawn", "yes"); })
      .catch(function (e) { box.textContent = "The chart could not be drawn: " + e.message; });
  }

  // The live page: a new snapshot every second from the server's events.
  function live() {
    var box = document.getElementById("live");
    if (!box || !window.EventSource) return;
    var es = new EventSource(box.dataset.src);
    es.onmessage = function (ev) {
      var s = JSON.parse(ev.data);
      if (!s.ok) { box.querySelector(".status").textContent = s.error || "floed did not answer"; return; }
      var t = s.snapshot.totals, r = s.snapshot.rates;
      box.querySelector(".status").textContent = human(r.bits_per_s) + "bit/s, " + human(r.packets_per_s) +
        " packets/s, " + human(r.flows_per_s) + " flows/s over the last " + s.snapshot.seconds + " s";
      // floed counts the talkers while clients look: a first look sees
      // them from its own time on.
      var since = s.snapshot.talkers_since_ms;
      box.querySelector(".since").textContent = since ? "Sources counted since " +
        Math.max(0, Math.round((s.snapshot.to_ms - since) / 1000)) + " s ago (floed counts them while someone looks)." : "";
      var body = box.querySelector("tbody");
      body.textContent = "";
      s.snapshot.talkers.src.forEach(function (k) {
        var tr = document.createElement("tr");
        [k.key, count(k.octets), count(k.packets), count(k.flows)].forEach(function (v) {
          var td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      box.setAttribute("data-updates", String(Number(box.getAttribute("data-updates") || 0) + 1));
    };
  }

  document.addEventListener("DOMContentLoaded", function () { init(); live(); });
})();
