// Rater versions, and the training curve of the chosen one, live while its job runs.
import { query, subscribe } from './api.js';
import { TrainingCurves } from './charts.js';
import { formatTime, h, replaceContent, showState, statusBadge } from './dom.js';

const RATERS_QUERY = `
  query DashboardRaters {
    raters {
      id
      name
      versions {
        id
        version
        status
        backend
        error
        createdAt
        finishedAt
        trainingDataset { name }
        job { id status progress }
      }
    }
  }`;

const POINT_FIELDS = 'step outerLoss metaGradNorm ess skipped';

const VERSION_QUERY = `
  query DashboardRaterVersion($id: ID!) {
    raterVersion(id: $id) {
      id
      version
      status
      error
      rater { name }
      trainingCurve { ${POINT_FIELDS} }
      job { id status }
    }
  }`;

const CURVE_SUBSCRIPTION = `
  subscription DashboardTrainingCurve($id: ID!) {
    jobUpdated(id: $id) {
      job { id status progress message }
      trainingPoints { ${POINT_FIELDS} }
    }
  }`;

const ACTIVE = new Set(['QUEUED', 'RUNNING']);

export class RatersView {
  constructor(section) {
    this.state = section.querySelector('.state');
    this.content = section.querySelector('.content');
    this.curvePanel = section.querySelector('.curve');
    this.versions = [];
    this.rendered = null;
    /** The error of the last refresh, or null when it succeeded. */
    this.error = null;
    this.selectedId = null;
    this.curve = null;
  }

  /** Loads the raters and returns all their versions, newest first within each rater. */
  async refresh() {
    if (this.rendered === null) showState(this.state, { loading: 'Loading rater versions…' });
    try {
      const { raters } = await query(RATERS_QUERY);
      this.versions = raters.flatMap((rater) =>
        [...rater.versions].reverse().map((version) => ({ ...version, raterName: rater.name })),
      );
      this.render();
      this.error = null;
    } catch (error) {
      this.error = error;
      // The table stays as it was, and the next successful refresh redraws it.
      this.rendered = null;
      showState(this.state, { error });
    }
    return this.versions;
  }

  render() {
    const json = JSON.stringify([this.versions, this.selectedId]);
    if (json === this.rendered) return;
    this.rendered = json;

    if (this.versions.length === 0) {
      showState(this.state, {
        empty: 'No rater versions yet. Start one with the startMetaTraining mutation.',
      });
      replaceContent(this.content);
      return;
    }
    showState(this.state, null);

    // Without a choice, show the curve of the newest version.
    if (!this.selectedId || !this.versions.some((version) => version.id === this.selectedId)) {
      const newest = [...this.versions].sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
      this.select(newest.id);
      return;
    }

    const rows = this.versions.map((version) => {
      const selected = version.id === this.selectedId;
      return h(
        'tr',
        { 'data-rater-version-id': version.id, class: selected ? 'selected' : null },
        h('th', { scope: 'row' }, `${version.raterName} v${version.version}`),
        h('td', {}, statusBadge(version.status)),
        h('td', {}, version.backend ?? '–'),
        h('td', {}, version.trainingDataset?.name ?? '–'),
        h('td', { class: 'time' }, formatTime(version.createdAt)),
        h('td', { class: 'time' }, formatTime(version.finishedAt)),
        h(
          'td',
          {},
          h(
            'button',
            {
              type: 'button',
              'aria-pressed': selected ? 'true' : 'false',
              onclick: () => this.select(version.id),
            },
            'Training curve',
          ),
        ),
      );
    });
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
            h('th', { scope: 'col' }, 'Rater version'),
            h('th', { scope: 'col' }, 'Status'),
            h('th', { scope: 'col' }, 'Backend'),
            h('th', { scope: 'col' }, 'Training dataset'),
            h('th', { scope: 'col' }, 'Created'),
            h('th', { scope: 'col' }, 'Finished'),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Show')),
          ),
        ),
        h('tbody', {}, rows),
      ),
    );
  }

  /** Shows the training curve of a version, following it live while its job is active. */
  select(versionId) {
    this.selectedId = versionId;
    this.render();
    this.curve?.close();
    this.curve = new CurvePanel(this.curvePanel, versionId, () => void this.refresh());
  }
}

/** The curve of one rater version: loaded once, then extended by jobUpdated events. */
class CurvePanel {
  constructor(panel, versionId, onFinished) {
    this.panel = panel;
    this.versionId = versionId;
    this.onFinished = onFinished;
    this.points = new Map();
    this.unsubscribe = null;
    this.closed = false;

    this.title = h('h3', {}, 'Training curve');
    this.state = h('p', { class: 'state', role: 'status', 'aria-live': 'polite' });
    this.live = h('p', { class: 'muted live' });
    this.charts = new TrainingCurves();
    replaceContent(panel, this.title, this.state, this.live, this.charts.element);
    void this.load();
  }

  async load() {
    showState(this.state, { loading: 'Loading the training curve…' });
    let version;
    try {
      ({ raterVersion: version } = await query(VERSION_QUERY, { id: this.versionId }));
    } catch (error) {
      showState(this.state, { error });
      return;
    }
    if (this.closed) return;
    if (!version) {
      showState(this.state, { empty: 'This rater version no longer exists.' });
      return;
    }

    this.title.textContent = `Training curve of ${version.rater.name} v${version.version}`;
    this.merge(version.trainingCurve);
    this.showCurveState(version.status, version.error);
    if (version.job && ACTIVE.has(version.job.status)) this.follow(version.job.id);
  }

  /** Subscribes to the training job. Its first event carries the whole curve so far. */
  follow(jobId) {
    this.live.textContent = 'Following the training job live: waiting for its first update.';
    this.unsubscribe = subscribe(
      CURVE_SUBSCRIPTION,
      { id: jobId },
      {
        onData: ({ jobUpdated }) => {
          this.merge(jobUpdated.trainingPoints);
          const { job } = jobUpdated;
          const state = `${job.status}, ${Math.round(job.progress * 100)} %${
            job.message ? `: ${job.message}` : ''
          }`;
          this.live.textContent = ACTIVE.has(job.status)
            ? `Following the training job live: ${state}`
            : `Training job ${state}`;
        },
        onError: (error) => {
          this.live.textContent = `Live updates stopped: ${error.message} (${error.code}).`;
        },
        onComplete: () => {
          if (!this.closed) this.onFinished();
        },
      },
    );
  }

  /**
   * Adds points by step. A resumed attempt restarts from its checkpoint and sends the steps after
   * it again, which replace the points of the failed attempt.
   */
  merge(points) {
    if (points.length === 0 && this.points.size > 0) return;
    for (const point of points) this.points.set(point.step, point);
    const sorted = [...this.points.values()].sort((a, b) => a.step - b.step);
    this.charts.update(sorted);
    if (sorted.length > 0) showState(this.state, null);
  }

  showCurveState(status, error) {
    if (this.points.size > 0) return;
    if (status === 'FAILED') {
      showState(this.state, { empty: `Training failed before the first step: ${error ?? ''}` });
    } else if (status === 'QUEUED') {
      showState(this.state, { empty: 'Queued: no training steps yet.' });
    } else {
      showState(this.state, { empty: 'No training steps recorded for this version.' });
    }
  }

  close() {
    this.closed = true;
    this.unsubscribe?.();
    this.charts.destroy();
  }
}
