/** @typedef {Node|string|number|null|undefined|false|unknown[]} Child */

// Every piece of text reaches the page as a text node or a property, never as markup: resource
// attributes and metric names are user input (no innerHTML anywhere in the console).

/**
 * An element with attributes and children; strings become text nodes, `on*` functions listeners.
 * @param {string} tag
 * @param {Record<string, unknown>} [attributes]
 * @param {...Child} children
 * @returns {HTMLElement}
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    } else if (name === 'value') {
      /** @type {any} */ (element)[name] = value;
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

/** @param {Node} parent @param {Child[]} children */
function append(parent, children) {
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === undefined || child === null || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A table of rows whose cells are text or nodes. @param {string[]} headings @param {Child[][]} rows */
export function table(headings, rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headings.map((heading) => h('th', {}, heading)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((row) =>
          h(
            'tr',
            {},
            row.map((cell) => h('td', {}, cell)),
          ),
        ),
      ),
    ),
  );
}

/**
 * A view of its own for one navigation: what its page draws replaces the page's content while it
 * is the current view; once the user has gone elsewhere, a late answer draws into a detached
 * element and is lost, rather than over the newer page.
 * @returns {(...children: Child[]) => void}
 */
export function newView() {
  const page = /** @type {HTMLElement} */ (document.getElementById('page'));
  const view = document.createElement('div');
  page.replaceChildren(view);
  return (...children) => {
    view.replaceChildren();
    append(view, children);
  };
}
