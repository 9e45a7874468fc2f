import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { throughput } from "../state";

const clock = uPlot.fmtDate("{HH}:{mm}:{ss}");

/** Events per second received by the live tails over the last minute; redrawn each second. */
export function ThroughputChart() {
  const host = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const width = () => Math.max(240, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 160,
        legend: { show: false },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, max * 1.2)] } },
        axes: [{ space: 70, values: (_u, splits) => splits.map((s) => clock(new Date(s * 1000))) }, { label: "events/s", size: 50 }],
        series: [{}, { label: "events/s", stroke: "#2563eb", fill: "rgba(37,99,235,0.15)", width: 2 }],
      },
      throughput.series(),
      el,
    );
    const tick = setInterval(() => plot.setData(throughput.series()), 1000);
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 160 }));
    resize.observe(el);
    return () => {
      clearInterval(tick);
      resize.disconnect();
      plot.destroy();
    };
  }, []);

  return (
    <section class="panel" aria-labelledby="chart-h">
      <h2 id="chart-h">Live throughput</h2>
      <div ref={host} class="chart" role="img" aria-label="events per second over the last minute" />
    </section>
  );
}
