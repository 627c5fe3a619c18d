// Datasets with their example counts per split.
import { query } from './api.js';
import { formatNumber, formatTime, h, replaceContent, showState } from './dom.js';

const DATASETS_QUERY = `
  query DashboardDatasets {
    datasets(first: 100) {
      totalCount
      nodes {
        id
        name
        description
        createdAt
        counts { total train heldout }
        curation { id }
        scoreSummaries { raterVersion { id } }
      }
    }
  }`;

export class DatasetsView {
  constructor(section) {
    this.state = section.querySelector('.state');
    this.content = section.querySelector('.content');
    this.datasets = [];
    this.rendered = null;
    /** The error of the last refresh, or null when it succeeded. */
    this.error = null;
  }

  /** Loads the datasets; returns them (the previous list when loading failed). */
  async refresh() {
    if (this.rendered === null) showState(this.state, { loading: 'Loading datasets…' });
    try {
      const { datasets } = await query(DATASETS_QUERY);
      this.datasets = datasets.nodes;
      this.render(datasets);
      this.error = null;
    } catch (error) {
      this.error = error;
      // The table stays as it was, and the next successful refresh redraws it.
      this.rendered = null;
      showState(this.state, { error });
    }
    return this.datasets;
  }

  render(connection) {
    // Redrawing an unchanged table would only reset the reader's place in it.
    const json = JSON.stringify(connection);
    if (json === this.rendered) return;
    this.rendered = json;

    if (connection.nodes.length === 0) {
      showState(this.state, {
        empty:
          'No datasets yet. Create one with the createDataset mutation and upload examples to ' +
          'POST /api/datasets/{id}/examples, or import the SpamAssassin corpus with importCorpus.',
      });
      replaceContent(this.content);
      return;
    }
    showState(this.state, null);

    const rows = connection.nodes.map((dataset) =>
      h(
        'tr',
        { 'data-dataset-id': dataset.id },
        h(
          'th',
          { scope: 'row' },
          dataset.name,
          dataset.curation ? h('span', { class: 'tag' }, 'curated') : null,
          dataset.description ? h('div', { class: 'muted' }, dataset.description) : null,
        ),
        h('td', { class: 'number' }, formatNumber(dataset.counts.total)),
        h('td', { class: 'number' }, formatNumber(dataset.counts.train)),
        h('td', { class: 'number' }, formatNumber(dataset.counts.heldout)),
        h('td', { class: 'number' }, formatNumber(dataset.scoreSummaries.length)),
        h('td', { class: 'time' }, formatTime(dataset.createdAt)),
      ),
    );
    const shown = connection.nodes.length;
    replaceContent(
      this.content,
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Dataset'),
            h('th', { scope: 'col', class: 'number' }, 'Examples'),
            h('th', { scope: 'col', class: 'number' }, 'TRAIN'),
            h('th', { scope: 'col', class: 'number' }, 'HELDOUT'),
            h('th', { scope: 'col', class: 'number' }, 'Scored by'),
            h('th', { scope: 'col' }, 'Created'),
          ),
        ),
        h('tbody', {}, rows),
      ),
      connection.totalCount > shown
        ? h('p', { class: 'muted' }, `Showing the first ${shown} of ${connection.totalCount}.`)
        : null,
    );
  }
}
