// The charts under the timeline, drawn by uPlot (vendor/, MIT): autonomyIndex and eventDelta,
// then pixel size and the time between pixels, over seq or over time.
import uPlot from "./vendor/uPlot.esm.js";

const PLOTS = [
  { title: "autonomyIndex · eventDelta", series: [["autonomyIndex", "autonomy", "#1a73e8", "y"], ["eventDelta", "delta", "#e37400", "d"]] },
  { title: "pixel size (bytes) · time since previous (ms)", series: [["size", "size", "#188038", "y"], ["Δt ms", "gap", "#a142f4", "d"]] },
];

const gaps = (a) => Array.from(a, (v) => (Number.isFinite(v) ? v : null));

export class Charts {
  constructor(container, onPick) {
    this.container = container;
    this.onPick = onPick;
    this.plots = [];
    this.axis = "seq";
    window.addEventListener("resize", () => this.resize());
  }

  /** True when the times never go backwards, so that time can be the x axis. */
  static monotonic(time) {
    for (let i = 1; i < time.length; i++) if (!(time[i] >= time[i - 1])) return false;
    return time.length > 0;
  }

  update(lines, axis) {
    for (const p of this.plots) p.destroy();
    this.plots = [];
    this.container.textContent = "";
    const n = lines.seq.length;
    if (!n) return;
    this.axis = axis === "time" && Charts.monotonic(lines.time) ? "time" : "seq";
    const x = this.axis === "time" ? Array.from(lines.time, (t) => t / 1000) : Array.from({ length: n }, (_, i) => i);
    const gap = new Float64Array(n);
    gap[0] = NaN;
    for (let i = 1; i < n; i++) gap[i] = lines.time[i] - lines.time[i - 1];
    const columns = { autonomy: gaps(lines.autonomy), delta: gaps(lines.delta), size: gaps(lines.size), gap: gaps(gap) };
    const ink = getComputedStyle(document.body).color;
    const grid = { stroke: "rgba(127,127,127,0.2)", width: 1 };
    for (const spec of PLOTS) {
      const el = document.createElement("div");
      el.className = "chart";
      this.container.append(el);
      const plot = new uPlot(
        {
          title: spec.title,
          width: Math.max(200, this.container.clientWidth),
          height: 170,
          scales: { x: { time: this.axis === "time" }, y: {}, d: {} },
          axes: [
            { stroke: ink, grid, label: this.axis === "time" ? "" : "seq" },
            { scale: "y", stroke: spec.series[0][2], grid, size: 56 },
            { scale: "d", side: 1, stroke: spec.series[1][2], grid: { show: false }, size: 56 },
          ],
          series: [
            { label: this.axis },
            ...spec.series.map(([label, , color, scale]) => ({ label, stroke: color, scale, width: 1, points: { show: n < 400 } })),
          ],
          cursor: { drag: { x: true, y: false } },
          legend: { live: true },
        },
        [x, ...spec.series.map(([, key]) => columns[key])],
        el,
      );
      plot.over.addEventListener("click", () => {
        if (plot.cursor.idx !== null && plot.cursor.idx !== undefined) this.onPick(plot.cursor.idx);
      });
      this.plots.push(plot);
    }
  }

  resize() {
    for (const p of this.plots) p.setSize({ width: Math.max(200, this.container.clientWidth), height: 170 });
  }
}
