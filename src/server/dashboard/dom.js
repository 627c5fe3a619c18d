// DOM helpers. Every piece of data reaches the page as a text node or an attribute value, never as
// HTML, so example texts and server messages cannot inject markup.

/**
 * Creates an element. `attributes` become attributes (`class`, `data-*`, `aria-*`, ...), except
 * functions under `on…` keys, which become event listeners. Children are nodes or strings.
 * Strings become text nodes, and null, undefined and false are skipped.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `element`. */
export function replaceContent(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/**
 * Shows the state of a section in its status element: `{ loading: text }`, `{ error }` (an
 * ApiError or any Error), `{ empty: text }`, or null to hide it.
 */
export function showState(element, state) {
  element.classList.remove('loading', 'error', 'empty');
  if (!state) {
    element.hidden = true;
    element.replaceChildren();
    return;
  }
  element.hidden = false;
  if ('loading' in state) {
    element.classList.add('loading');
    replaceContent(element, state.loading);
  } else if ('error' in state) {
    element.classList.add('error');
    replaceContent(element, ...describeError(state.error));
  } else {
    element.classList.add('empty');
    replaceContent(element, state.empty);
  }
}

/** Builds the message of an error with its code, and what to do about a missing or weak token. */
function describeError(error) {
  const code = error.code ?? 'NETWORK_ERROR';
  const parts = [error.message, ' ', h('code', {}, code)];
  if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') {
    parts.push(' Enter a reader token in the API token field above.');
  }
  return parts;
}

/** A job or rater version status word, with a class for its colour. */
export function statusBadge(status) {
  return h('span', { class: `status status-${status.toLowerCase()}` }, status);
}

/** Formats a number with `digits` significant digits. Integers stay whole. */
export function formatNumber(value, digits = 4) {
  if (value === null || value === undefined) return '–';
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return Number(value.toPrecision(digits)).toString();
}

/** Formats a share in [0, 1] as a whole percent. */
export function formatPercent(share) {
  return `${Math.round(share * 100)} %`;
}

/** Formats an ISO time as local date and time, to the second. */
export function formatTime(iso) {
  if (!iso) return '–';
  const date = new Date(iso);
  return date.toLocaleString('sv-SE', { hour12: false });
}
