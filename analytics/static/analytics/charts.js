/* Draws every chart of an analytics page with Chart.js (served by the platform itself).
   Each <canvas data-chart="ID"> has its spec in <script type="application/json" id="ID">.
   A missing value (a suppressed cell) is left out of the chart, never drawn as zero. */
(function () {
  "use strict";
  var palette = ["#00549f", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#666666", "#1f78b4", "#b2df8a"];
  function draw(canvas) {
    var node = document.getElementById(canvas.getAttribute("data-chart"));
    if (!node || typeof Chart === "undefined") { return; }
    var spec = JSON.parse(node.textContent);
    var datasets = spec.datasets.map(function (set, i) {
      return { label: set.label, data: set.data, backgroundColor: palette[i % palette.length],
               borderColor: palette[i % palette.length], spanGaps: false };
    });
    var valueAxis = { stacked: !!spec.stacked, beginAtZero: true };
    if (spec.percent) { valueAxis.max = spec.stacked ? 100 : undefined; valueAxis.title = { display: true, text: "%" }; }
    if (spec.max) { valueAxis.max = spec.max; }
    var categoryAxis = { stacked: !!spec.stacked, ticks: { autoSkip: false } };
    var scales = spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis };
    var chart = new Chart(canvas, {
      type: spec.type || "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: scales,
        plugins: { legend: { display: datasets.length > 1, position: "bottom" } }
      }
    });
    canvas.setAttribute("data-drawn", "true");
    canvas.kelu = chart;
  }
  function init() { Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
