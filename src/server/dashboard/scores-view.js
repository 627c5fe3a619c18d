// Scores of one rater version on one dataset: summary statistics, histogram, statistics per
// source and per label, and the highest- and lowest-scored examples.
import { query } from './api.js';
import { histogramFigure } from './charts.js';
import { formatNumber, formatTime, h, replaceContent, showState } from './dom.js';

/** 50 divides the 1000 stored bins, so the re-binned counts are exact. */
const HISTOGRAM_BINS = 50;
const EXAMPLES_SHOWN = 10;
/** Characters of an example's text shown before "Show all". */
const TEXT_PREVIEW = 400;
const QUANTILES = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99];

const GROUP_FIELDS = 'value count mean std min max median: quantiles(qs: [0.5]) { value }';
const EXAMPLE_FIELDS = 'score node { id externalId split source label text }';

const SCORES_QUERY = `
  query DashboardScores($raterVersionId: ID!, $datasetId: ID!, $first: Int!) {
    scoreAnalytics(raterVersionId: $raterVersionId, datasetId: $datasetId) {
      count
      mean
      std
      min
      max
      computedAt
      histogram(bins: ${HISTOGRAM_BINS}) { edges counts }
      quantiles(qs: [${QUANTILES.join(', ')}]) { q value maxError }
      bySource { ${GROUP_FIELDS} }
      omittedSourceCount
      byLabel { ${GROUP_FIELDS} }
      omittedLabelCount
    }
    top: scoredExamples(raterVersionId: $raterVersionId, datasetId: $datasetId, order: DESC,
                        first: $first) {
      edges { ${EXAMPLE_FIELDS} }
    }
    bottom: scoredExamples(raterVersionId: $raterVersionId, datasetId: $datasetId, order: ASC,
                           first: $first) {
      edges { ${EXAMPLE_FIELDS} }
    }
  }`;

export class ScoresView {
  constructor(section) {
    this.state = section.querySelector('.state');
    this.content = section.querySelector('.content');
    this.versionSelect = section.querySelector('select[name="raterVersion"]');
    this.datasetSelect = section.querySelector('select[name="dataset"]');
    this.versions = [];
    this.datasets = [];
    this.rendered = null;
    this.histogram = null;
    this.request = 0;

    const onChange = () => void this.refresh();
    this.versionSelect.addEventListener('change', onChange);
    this.datasetSelect.addEventListener('change', onChange);
  }

  /**
   * Fills the two selects, offering only READY versions because only they can have scores. Keeps
   * the current choice when it still exists. Otherwise it picks a pair that has a score summary,
   * so the view opens on data when there is any.
   */
  setOptions(allVersions, datasets) {
    const versions = allVersions.filter((version) => version.status === 'READY');
    this.versions = versions;
    this.datasets = datasets;
    const chosenVersion = this.versionSelect.value;
    const chosenDataset = this.datasetSelect.value;

    fillSelect(
      this.versionSelect,
      versions.map((version) => ({
        value: version.id,
        label: `${version.raterName} v${version.version}`,
      })),
    );
    fillSelect(
      this.datasetSelect,
      datasets.map((dataset) => ({ value: dataset.id, label: dataset.name })),
    );

    const has = (select, value) => [...select.options].some((option) => option.value === value);
    if (has(this.versionSelect, chosenVersion) && has(this.datasetSelect, chosenDataset)) {
      this.versionSelect.value = chosenVersion;
      this.datasetSelect.value = chosenDataset;
      return;
    }
    const versionIds = new Set(versions.map((version) => version.id));
    for (const dataset of datasets) {
      const summary = dataset.scoreSummaries.find((s) => versionIds.has(s.raterVersion.id));
      if (summary) {
        this.versionSelect.value = summary.raterVersion.id;
        this.datasetSelect.value = dataset.id;
        return;
      }
    }
  }

  async refresh() {
    const raterVersionId = this.versionSelect.value;
    const datasetId = this.datasetSelect.value;
    if (!raterVersionId || !datasetId) {
      this.clear();
      showState(this.state, {
        empty:
          this.versions.length === 0
            ? 'No scores yet: no rater version is READY. Train one with startMetaTraining, then ' +
              'score a dataset with scoreDataset.'
            : 'No datasets to show scores of.',
      });
      return;
    }

    // Responses to an older choice that arrive after a newer one are dropped.
    const request = ++this.request;
    const key = `${raterVersionId}/${datasetId}`;
    if (this.rendered?.key !== key) showState(this.state, { loading: 'Loading scores…' });
    let data;
    try {
      data = await query(SCORES_QUERY, { raterVersionId, datasetId, first: EXAMPLES_SHOWN });
    } catch (error) {
      if (request === this.request) {
        this.rendered = null;
        showState(this.state, { error });
      }
      return;
    }
    if (request !== this.request) return;

    const json = JSON.stringify(data);
    if (this.rendered?.key === key && this.rendered.json === json) return;
    this.rendered = { key, json };
    this.render(data);
  }

  render({ scoreAnalytics: analytics, top, bottom }) {
    this.clear();
    if (!analytics) {
      const version = this.versionSelect.selectedOptions[0]?.textContent ?? 'This rater version';
      const dataset = this.datasetSelect.selectedOptions[0]?.textContent ?? 'this dataset';
      showState(this.state, {
        empty:
          `${version} has no score summary for ${dataset} yet. Score the dataset with the ` +
          'scoreDataset mutation; the summary appears when the scoring job succeeds.',
      });
      return;
    }
    showState(this.state, null);

    this.histogram = histogramFigure(
      analytics.histogram,
      `Score histogram: ${formatNumber(analytics.count)} examples in ${
        analytics.histogram.counts.length
      } bins from ${formatNumber(analytics.min)} to ${formatNumber(analytics.max)}`,
    );
    replaceContent(
      this.content,
      summaryList(analytics),
      this.histogram.figure,
      h('h3', {}, 'By source'),
      groupTable('Source', analytics.bySource, analytics.omittedSourceCount, 'scores-by-source'),
      h('h3', {}, 'By label'),
      groupTable('Label', analytics.byLabel, analytics.omittedLabelCount, 'scores-by-label'),
      h(
        'div',
        { class: 'columns' },
        exampleList('Highest scores', top.edges, 'top-examples'),
        exampleList('Lowest scores', bottom.edges, 'bottom-examples'),
      ),
    );
  }

  /** Shows why the choices could not be loaded. */
  showError(error) {
    this.request++;
    this.rendered = null;
    this.clear();
    showState(this.state, { error });
  }

  clear() {
    this.histogram?.destroy();
    this.histogram = null;
    replaceContent(this.content);
  }
}

function fillSelect(select, options) {
  replaceContent(
    select,
    options.map((option) => h('option', { value: option.value }, option.label)),
  );
  select.disabled = options.length === 0;
}

function summaryList(analytics) {
  const items = [
    ['Examples scored', formatNumber(analytics.count)],
    ['Mean', formatNumber(analytics.mean)],
    ['Standard deviation', formatNumber(analytics.std)],
    ['Min', formatNumber(analytics.min)],
    ['Max', formatNumber(analytics.max)],
    ...analytics.quantiles.map((quantile) => [
      `Quantile ${quantile.q}`,
      formatNumber(quantile.value) +
        (quantile.maxError > 0 ? ` (± ${formatNumber(quantile.maxError, 2)})` : ''),
    ]),
    ['Summary computed', formatTime(analytics.computedAt)],
  ];
  return h(
    'dl',
    { class: 'summary' },
    items.map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, value))),
  );
}

function groupTable(heading, groups, omitted, id) {
  if (groups.length === 0) return h('p', { class: 'muted' }, 'No examples.');
  const none = heading === 'Source' ? '(no source)' : '(no label)';
  const rows = groups.map((group) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, group.value ?? h('span', { class: 'muted' }, none)),
      h('td', { class: 'number' }, formatNumber(group.count)),
      h('td', { class: 'number' }, formatNumber(group.mean)),
      h('td', { class: 'number' }, formatNumber(group.std)),
      h('td', { class: 'number' }, formatNumber(group.min)),
      h('td', { class: 'number' }, formatNumber(group.median[0]?.value)),
      h('td', { class: 'number' }, formatNumber(group.max)),
    ),
  );
  const columns = ['Examples', 'Mean', 'Std', 'Min', 'Median', 'Max'];
  return h(
    'div',
    {},
    h(
      'table',
      { id },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, heading),
          columns.map((column) => h('th', { scope: 'col', class: 'number' }, column)),
        ),
      ),
      h('tbody', {}, rows),
    ),
    omitted > 0
      ? h('p', { class: 'muted' }, `${omitted} smaller groups are not stored and not shown.`)
      : null,
  );
}

function exampleList(title, edges, id) {
  return h(
    'div',
    {},
    h('h3', {}, title),
    edges.length === 0
      ? h('p', { class: 'muted' }, 'No scored examples.')
      : h(
          'ol',
          { id, class: 'examples' },
          edges.map(({ score, node }) =>
            h(
              'li',
              { 'data-example-id': node.id },
              h(
                'div',
                { class: 'example-meta' },
                h('strong', {}, formatNumber(score)),
                ` ${node.split}`,
                node.source ? ` · source ${node.source}` : null,
                node.label ? ` · label ${node.label}` : null,
                node.externalId ? ` · ${node.externalId}` : null,
              ),
              exampleText(node.text),
            ),
          ),
        ),
  );
}

/** Shows the text in a <pre>, cut to TEXT_PREVIEW characters with the rest behind "Show all". */
function exampleText(text) {
  const characters = Array.from(text).length;
  if (characters <= TEXT_PREVIEW) return h('pre', { class: 'example-text' }, text);
  return h(
    'details',
    {},
    h(
      'summary',
      {},
      h('pre', { class: 'example-text' }, `${Array.from(text).slice(0, TEXT_PREVIEW).join('')}…`),
      h('span', { class: 'muted' }, `Show all ${characters.toLocaleString('en-US')} characters`),
    ),
    h('pre', { class: 'example-text' }, text),
  );
}
