/** A few DOM helpers, so views read as structure rather than as createElement calls. Text is always set as text, never as HTML. */

export type Child = Node | string | number | null | undefined | false;

type Listeners = { readonly [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };

export interface Props {
  readonly class?: string;
  readonly attrs?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly on?: Listeners;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props?.class) element.className = props.class;
  for (const [name, value] of Object.entries(props?.attrs ?? {})) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const [type, listener] of Object.entries(props?.on ?? {})) element.addEventListener(type, listener as EventListener);
  append(element, children);
  return element;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Sets an element's text only when it changed: cheap enough to call on every poll. */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

/**
 * Brings a table body in line with `items`, reusing each row by key. Rows are updated in place
 * rather than rebuilt, so a poll never replaces a row under the pointer and swallows a click.
 */
export function syncRows<T>(
  body: HTMLTableSectionElement,
  items: readonly T[],
  key: (item: T) => string,
  create: (item: T) => HTMLTableRowElement,
  update: (row: HTMLTableRowElement, item: T) => void,
): void {
  const existing = new Map<string, HTMLTableRowElement>();
  for (const row of Array.from(body.rows)) existing.set(row.dataset.key ?? '', row);
  let previous: HTMLTableRowElement | null = null;
  for (const item of items) {
    const id = key(item);
    let row = existing.get(id);
    existing.delete(id);
    if (!row) {
      row = create(item);
      row.dataset.key = id;
    }
    update(row, item);
    const expectedPosition: ChildNode | null = previous ? previous.nextSibling : body.firstChild;
    if (expectedPosition !== row) body.insertBefore(row, expectedPosition);
    previous = row;
  }
  for (const row of existing.values()) row.remove();
}

/** `text` with `code spans` (between backticks) as <code> elements, for descriptions from the OpenAPI document. */
export function withCode(text: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  text.split('`').forEach((part, index) => {
    if (part === '') return;
    fragment.appendChild(index % 2 === 1 ? h('code', null, part) : document.createTextNode(part));
  });
  return fragment;
}
