// Plots drawn with uPlot: the score histogram and the training curves. Each chart sits in a
// <figure> whose caption and data attributes carry the numbers, for screen readers and tests.
import uPlot from './vendor/uplot/uPlot.esm.js';
import { formatNumber, h } from './dom.js';

const HEIGHT = 220;
const COLOR = '#3b6ea8';

/** Draws a chart in `container` and keeps its width equal to the container's. */
function mountChart(container, options, data) {
  const width = Math.max(200, container.clientWidth);
  const chart = new uPlot({ ...options, width, height: HEIGHT }, data, container);
  const observer = new ResizeObserver(() => {
    const next = Math.max(200, container.clientWidth);
    if (next !== chart.width) chart.setSize({ width: next, height: HEIGHT });
  });
  observer.observe(container);
  return {
    chart,
    destroy() {
      observer.disconnect();
      chart.destroy();
    },
  };
}

/**
 * Draws a histogram `{ edges, counts }` (edges one longer than counts) as bars. Returns the
 * <figure>, whose `data-bin-edges` and `data-bin-counts` list the numbers and whose table under
 * "Bin counts" shows them, and `destroy()`, which frees the chart.
 */
export function histogramFigure(histogram, caption) {
  const { edges, counts } = histogram;
  const centers = counts.map((_, i) => (edges[i] + edges[i + 1]) / 2);
  const low = edges[0];
  const high = edges.at(-1);
  // Every score equal gives one bin of zero width; widen the axis so the bar shows.
  const [min, max] = high > low ? [low, high] : [low - 0.5, high + 0.5];

  const plot = h('div', { class: 'chart', role: 'img', 'aria-label': caption });
  const figure = h(
    'figure',
    {
      class: 'histogram',
      'data-bin-edges': edges.join(','),
      'data-bin-counts': counts.join(','),
    },
    h('figcaption', {}, caption),
    plot,
    binTable(edges, counts),
  );

  // uPlot measures its container, so it is drawn once the caller has put the figure in the page.
  let mounted = null;
  let destroyed = false;
  queueMicrotask(() => {
    if (destroyed) return;
    mounted = mountChart(
      plot,
      {
        legend: { show: false },
        cursor: { points: { show: false } },
        scales: { x: { time: false, range: [min, max] }, y: { range: (_u, _lo, hi) => [0, hi] } },
        axes: [{ label: 'score' }, { label: 'examples' }],
        series: [
          {},
          {
            label: 'examples',
            fill: `${COLOR}99`,
            stroke: COLOR,
            paths: uPlot.paths.bars({ size: [1, Infinity], gap: 1 }),
            points: { show: false },
          },
        ],
      },
      [centers, counts],
    );
  });
  const destroy = () => {
    destroyed = true;
    mounted?.destroy();
  };
  return { figure, destroy };
}

function binTable(edges, counts) {
  const rows = counts.map((count, i) =>
    h(
      'tr',
      {},
      h('td', {}, `${formatNumber(edges[i])} to ${formatNumber(edges[i + 1])}`),
      h('td', { class: 'number' }, formatNumber(count)),
    ),
  );
  return h(
    'details',
    {},
    h('summary', {}, 'Bin counts'),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Score range'), h('th', {}, 'Examples'))),
      h('tbody', {}, rows),
    ),
  );
}

/** The series of a training curve, each a field of TrainingPoint. */
const CURVE_SERIES = [
  { field: 'outerLoss', title: 'Outer loss (held-out loss after the inner updates)' },
  { field: 'metaGradNorm', title: 'Meta-gradient norm' },
  { field: 'ess', title: 'Effective sample size of the batch weights' },
];

/**
 * Training-curve charts of one rater version: outer loss, meta-gradient norm and ESS per outer
 * step. `update(points)` redraws them with the full curve. Skipped steps are gaps.
 */
export class TrainingCurves {
  constructor() {
    this.element = h('div', { class: 'curves', 'data-points': '0' });
    this.charts = [];
    this.figures = CURVE_SERIES.map((series) => {
      const plot = h('div', { class: 'chart', role: 'img', 'aria-label': series.title });
      const last = h('span', { class: 'last-value' });
      const figure = h('figure', {}, h('figcaption', {}, series.title, ' ', last), plot);
      this.element.append(figure);
      return { series, plot, last };
    });
  }

  /** Draws `points` (sorted by step); called again with the whole curve after each change. */
  update(points) {
    this.element.dataset.points = String(points.length);
    const steps = points.map((point) => point.step);
    if (this.charts.length === 0) {
      this.charts = this.figures.map(({ series, plot }) =>
        mountChart(
          plot,
          {
            legend: { show: false },
            scales: { x: { time: false } },
            axes: [{ label: 'outer step' }, {}],
            series: [{}, { label: series.title, stroke: COLOR, width: 1.5, spanGaps: false }],
          },
          [[], []],
        ),
      );
    }

    this.figures.forEach(({ series, last }, i) => {
      const values = points.map((point) => (point.skipped ? null : point[series.field]));
      this.charts[i].chart.setData([steps, values]);
      const final = points.findLast((point) => !point.skipped);
      last.textContent = final ? `(step ${final.step}: ${formatNumber(final[series.field])})` : '';
    });
  }

  destroy() {
    for (const chart of this.charts) chart.destroy();
    this.charts = [];
  }
}
