// Start-up of the dashboard: the token form, the four views, the refresh loop and the websocket
// state line.
import { loadToken, onSocketState, query, saveToken, storedToken } from './api.js';
import { DatasetsView } from './datasets-view.js';
import { showState } from './dom.js';
import { JobsView } from './jobs-view.js';
import { RatersView } from './raters-view.js';
import { ScoresView } from './scores-view.js';

/** The job list is re-read this often, to find new jobs and as a fallback for live updates. */
const JOBS_REFRESH_MS = 5000;

const datasets = new DatasetsView(document.getElementById('datasets'));
const raters = new RatersView(document.getElementById('raters'));
const scores = new ScoresView(document.getElementById('scores'));
const jobs = new JobsView(document.getElementById('jobs'), () => scheduleRefresh());

setUpTokenForm();
showSocketState();
void refreshAll();
setInterval(() => void jobs.refresh(), JOBS_REFRESH_MS);
document.getElementById('refresh').addEventListener('click', () => void refreshAll());

async function refreshAll() {
  void showServerInfo();
  const [datasetList, versionList] = await Promise.all([
    datasets.refresh(),
    raters.refresh(),
    jobs.refresh(),
  ]);
  scores.setOptions(versionList, datasetList);
  const failure = datasets.error ?? raters.error;
  if (failure) scores.showError(failure);
  else await scores.refresh();
}

let refreshTimer = null;

/** Coalesces the refreshes that several finishing jobs ask for into one. */
function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    void refreshAll();
  }, 300);
}

async function showServerInfo() {
  const element = document.getElementById('server-info');
  try {
    const { serverInfo } = await query('{ serverInfo { version database backend } }');
    showState(element, null);
    element.hidden = false;
    element.textContent =
      `Server ${serverInfo.version}, ${serverInfo.database} database, ` +
      (serverInfo.backend ? `worker on the ${serverInfo.backend} backend` : 'no in-process worker');
  } catch (error) {
    showState(element, { error });
  }
}

function setUpTokenForm() {
  const form = document.getElementById('token-form');
  const input = form.elements.namedItem('token');
  const saved = document.getElementById('token-saved');
  const describe = (token) => {
    saved.textContent = token ? 'A token is stored in this browser.' : 'No token stored.';
  };
  describe(loadToken());

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    saveToken(input.value);
    input.value = '';
    describe(storedToken());
    void refreshAll();
  });
  document.getElementById('token-forget').addEventListener('click', () => {
    saveToken('');
    input.value = '';
    describe(null);
    void refreshAll();
  });
}

function showSocketState() {
  const element = document.getElementById('live-status');
  const texts = {
    idle: 'Live updates: no active job to follow.',
    connecting: 'Live updates: connecting the websocket…',
    connected: 'Live updates: websocket connected.',
    closed: 'Live updates: websocket closed',
  };
  onSocketState(({ state, detail }) => {
    element.dataset.state = state;
    element.textContent =
      state === 'closed'
        ? `${texts.closed}${detail ? ` (${detail})` : ''}; job progress refreshes every ${
            JOBS_REFRESH_MS / 1000
          } s.`
        : texts[state];
  });
}
