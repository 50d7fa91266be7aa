/* Pulse charts: reads the page's <script type="application/json" id="chart-data"> block and
   draws each <canvas data-chart="..."> with Chart.js (served from /static/vendor). No inline
   scripts, so the content security policy can forbid them. The same numbers are always in a
   table on the page; charts are a second view, not the only one. */
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent || "{}");
  var INK = "#111111", ACCENT = "#0b4f8a", BAND = "rgba(11, 79, 138, 0.18)", WARM = "#a34a00";
  // Okabe & Ito (2008) colour-blind-safe palette, with a dash pattern per line as well.
  var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"];
  var DASHES = [[], [6, 3], [2, 2], [8, 3, 2, 3], [], [6, 3], [2, 2], [8, 3, 2, 3]];
  var narrow = window.matchMedia && window.matchMedia("(max-width: 40rem)").matches;
  if (narrow) { Chart.defaults.font.size = 12; }
  Chart.defaults.color = INK;
  Chart.defaults.font.size = 14;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  function fixed(v, d) { return v === null || v === undefined ? "–" : Number(v).toFixed(d); }

  var builders = {
    trend: function (d) {
      var t = d.trend;
      return {
        type: "line",
        data: {
          labels: t.labels,
          datasets: [
            { label: "interval low", data: t.low || [], borderWidth: 0, pointRadius: 0, fill: false },
            { label: "interval", data: t.high || [], borderWidth: 0, pointRadius: 0,
              backgroundColor: BAND, fill: "-1" },
            { label: t.name, data: t.values, borderColor: ACCENT, backgroundColor: ACCENT,
              borderWidth: 3, pointRadius: 4, spanGaps: false }
          ]
        },
        options: {
          plugins: { legend: { labels: { filter: function (item) { return item.datasetIndex === 2; } } } },
          scales: { y: { min: t.min, max: t.max, title: { display: true, text: t.yLabel || t.name } },
                    x: { title: { display: true, text: "period" } } }
        }
      };
    },
    scatter: function (d) {
      var s = d.scatter;
      return {
        type: "scatter",
        data: {
          datasets: [
            { label: "units", data: s.points, backgroundColor: ACCENT, pointRadius: 5, order: 1 },
            { type: "line", label: "band low", data: s.lower, borderWidth: 0, pointRadius: 0, fill: false, order: 3 },
            { type: "line", label: s.bandLabel, data: s.upper, borderWidth: 0, pointRadius: 0,
              backgroundColor: BAND, fill: "-1", order: 3 },
            { type: "line", label: "least-squares fit", data: s.fit, borderColor: WARM,
              borderWidth: 2, pointRadius: 0, fill: false, order: 2 }
          ]
        },
        options: {
          plugins: {
            legend: { labels: { filter: function (item) { return item.text !== "band low"; } } },
            tooltip: { callbacks: { label: function (ctx) {
              var p = ctx.raw || {};
              return (p.label ? p.label + ": " : "") + fixed(p.x, 1) + ", " + fixed(p.y, 1);
            } } }
          },
          scales: {
            x: { type: "linear", min: s.xRange ? s.xRange[0] : undefined, max: s.xRange ? s.xRange[1] : undefined,
                 title: { display: true, text: s.xLabel } },
            y: { min: s.yRange ? s.yRange[0] : undefined, max: s.yRange ? s.yRange[1] : undefined,
                 title: { display: true, text: s.yLabel } }
          }
        }
      };
    },
    lags: function (d) {
      var l = d.lags;
      return {
        type: "bar",
        data: {
          labels: l.labels,
          datasets: [
            { label: "interval of r", data: l.ci, backgroundColor: BAND, borderColor: ACCENT,
              borderWidth: 1, barPercentage: 0.4, order: 2 },
            { type: "line", label: "r", data: l.r, showLine: false, pointRadius: 6,
              pointStyle: "rectRot", backgroundColor: WARM, borderColor: WARM, order: 1 }
          ]
        },
        options: {
          plugins: { subtitle: { display: true, text: l.note } },
          scales: { y: { min: -1, max: 1, title: { display: true, text: "correlation r" } },
                    x: { title: { display: true, text: "lag in periods" } } }
        }
      };
    },
    trends: function (d) {
      var t = d.trends;
      return {
        type: "line",
        data: {
          labels: t.labels,
          datasets: t.lines.map(function (line, i) {
            var colour = PALETTE[i % PALETTE.length];
            return { label: line.label, data: line.values, borderColor: colour, backgroundColor: colour,
                     borderDash: DASHES[i % DASHES.length], borderWidth: 2, pointRadius: 3, spanGaps: false };
          })
        },
        options: {
          plugins: { legend: { position: narrow ? "bottom" : "right", labels: { boxWidth: 14 } } },
          scales: { y: { min: 0, max: 100, title: { display: true, text: t.yLabel } },
                    x: { title: { display: true, text: "period" } } }
        }
      };
    },
    link: function (d) {
      var s = d.link;
      return {
        type: "scatter",
        data: { datasets: [{ label: "units one level down", data: s.points, backgroundColor: ACCENT, pointRadius: 5 }] },
        options: {
          plugins: {
            legend: { display: false },
            tooltip: { callbacks: { label: function (ctx) {
              var p = ctx.raw || {};
              return (p.label ? p.label + ": " : "") + fixed(p.x, 0) + ", " + fixed(p.y, 0);
            } } }
          },
          scales: {
            x: { type: "linear", title: { display: true, text: narrow ? "How people are treated (0-100)" : s.xLabel } },
            y: { title: { display: true, text: s.yLabel } }
          }
        }
      };
    },
    drivers: function (d) {
      var v = d.drivers;
      return {
        type: "bar",
        data: {
          labels: v.labels,
          datasets: [{ label: "r with the outcome", data: v.r, backgroundColor: v.r.map(function (r) {
            return r !== null && r < 0 ? WARM : ACCENT; }) }]
        },
        options: {
          indexAxis: "y",
          plugins: { tooltip: { callbacks: { label: function (ctx) {
            return "r = " + fixed(ctx.raw, 2) + ", q " + (/^[<n]/.test(v.q[ctx.dataIndex]) ? "" : "= ") + v.q[ctx.dataIndex];
          } } } },
          scales: { x: { min: -1, max: 1, title: { display: true, text: "correlation r with the outcome" } },
                    y: { ticks: { autoSkip: false }, title: { display: true, text: "measure or item" } } }
        }
      };
    }
  };

  var canvases = document.querySelectorAll("canvas[data-chart]");
  for (var i = 0; i < canvases.length; i++) {
    var canvas = canvases[i];
    var kind = canvas.getAttribute("data-chart");
    var key = kind === "trend" ? "trend" : kind;
    if (!builders[kind] || !data[key]) { continue; }
    new Chart(canvas, builders[kind](data));
  }
})();
