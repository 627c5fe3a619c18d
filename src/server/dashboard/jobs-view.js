// The newest jobs with their progress, updated live by one jobUpdated subscription per active job.
import { query, subscribe } from './api.js';
import { formatPercent, formatTime, h, replaceContent, showState, statusBadge } from './dom.js';

const JOBS_SHOWN = 20;

const JOB_FIELDS = `
  id
  kind
  status
  progress
  message
  error
  attempts
  createdAt
  updatedAt
  finishedAt
  raterVersion { id version rater { name } }
  dataset { id name }`;

const JOBS_QUERY = `
  query DashboardJobs($first: Int!) {
    jobs(first: $first) { nodes { ${JOB_FIELDS} } }
  }`;

const JOB_SUBSCRIPTION = `
  subscription DashboardJob($id: ID!) {
    jobUpdated(id: $id) { job { ${JOB_FIELDS} } }
  }`;

const ACTIVE = new Set(['QUEUED', 'RUNNING']);

export class JobsView {
  /**
   * @param onChange called when a job appears or finishes, because then datasets, rater versions
   *   and scores may have changed too
   */
  constructor(section, onChange) {
    this.state = section.querySelector('.state');
    this.content = section.querySelector('.content');
    this.onChange = onChange;
    this.jobs = [];
    this.loaded = false;
    this.subscriptions = new Map();
  }

  async refresh() {
    if (!this.loaded) showState(this.state, { loading: 'Loading jobs…' });
    let jobs;
    try {
      ({ jobs } = await query(JOBS_QUERY, { first: JOBS_SHOWN }));
    } catch (error) {
      showState(this.state, { error });
      return;
    }

    const known = new Set(this.jobs.map((job) => job.id));
    const appeared = this.loaded && jobs.nodes.some((job) => !known.has(job.id));
    const finished = jobs.nodes.some(
      (job) => !ACTIVE.has(job.status) && this.subscriptions.has(job.id),
    );
    this.loaded = true;
    this.jobs = jobs.nodes;
    this.render();
    this.follow();
    if (appeared || finished) this.onChange();
  }

  /** Subscribes to each active job shown and drops the subscriptions of the others. */
  follow() {
    const active = new Set(this.jobs.filter((job) => ACTIVE.has(job.status)).map((job) => job.id));
    for (const [id, unsubscribe] of this.subscriptions) {
      if (!active.has(id)) {
        unsubscribe();
        this.subscriptions.delete(id);
      }
    }
    for (const id of active) {
      if (this.subscriptions.has(id)) continue;
      const unsubscribe = subscribe(
        JOB_SUBSCRIPTION,
        { id },
        {
          onData: ({ jobUpdated }) => this.update(jobUpdated.job),
          // The list refresh still shows the job's progress, only less often.
          onError: () => this.subscriptions.delete(id),
          onComplete: () => this.subscriptions.delete(id),
        },
      );
      this.subscriptions.set(id, unsubscribe);
    }
  }

  update(job) {
    const index = this.jobs.findIndex((shown) => shown.id === job.id);
    if (index < 0) return;
    this.jobs[index] = job;
    this.render();
    if (!ACTIVE.has(job.status)) this.onChange();
  }

  render() {
    if (this.jobs.length === 0) {
      showState(this.state, {
        empty:
          'No jobs yet. Mutations such as startMetaTraining, scoreDataset and curateDataset ' +
          'start jobs; they appear here with their progress.',
      });
      replaceContent(this.content);
      return;
    }
    showState(this.state, null);

    const rows = this.jobs.map((job) =>
      h(
        'tr',
        { 'data-job-id': job.id, 'data-status': job.status },
        h('td', {}, job.kind),
        h('td', {}, statusBadge(job.status)),
        h(
          'td',
          { class: 'progress-cell' },
          h('progress', {
            max: '1',
            value: String(job.progress),
            'aria-label': `Progress of the ${job.kind} job`,
          }),
          ' ',
          h('span', { class: 'progress-text' }, formatPercent(job.progress)),
        ),
        h('td', {}, subject(job)),
        h(
          'td',
          { class: 'message' },
          job.error ? h('span', { class: 'error-text' }, job.error) : (job.message ?? ''),
        ),
        h('td', { class: 'number' }, String(job.attempts)),
        h('td', { class: 'time' }, formatTime(job.updatedAt)),
      ),
    );
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
            ['Kind', 'Status', 'Progress', 'Works on', 'Message', 'Attempts', 'Updated'].map(
              (column) => h('th', { scope: 'col' }, column),
            ),
          ),
        ),
        h('tbody', {}, rows),
      ),
    );
  }
}

function subject(job) {
  const parts = [];
  if (job.raterVersion) {
    parts.push(`${job.raterVersion.rater.name} v${job.raterVersion.version}`);
  }
  if (job.dataset) parts.push(job.dataset.name);
  return parts.join(' on ') || '–';
}
