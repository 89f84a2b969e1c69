/** A tiny DOM builder: the console's pages are plain elements, no framework. */
export type Child = Node | string | number | null | undefined | false | Child[];
type Handler = (event: Event) => void;
export type Props = Record<string, string | number | boolean | Handler | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === 'value' && 'value' in element) (element as HTMLInputElement).value = String(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces everything in `parent` with `children`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let ids = 0;
/** A fresh element id (labels and descriptions point at it). */
export const uid = (prefix: string) => `${prefix}-${++ids}`;

/** A labelled form field: the label names the control for assistive technology. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement, hint?: string): HTMLElement {
  control.id ||= uid('f');
  const hintId = hint ? uid('hint') : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hint ? h('small', { id: hintId, class: 'hint' }, hint) : null);
}

export function select(name: string, options: [string, string][], selected?: string): HTMLSelectElement {
  return h('select', { name }, ...options.map(([value, text]) => h('option', { value, selected: value === selected }, text)));
}

/**
 * A table of rows. Every cell carries its column's name, which narrow screens show
 * beside the value (each row becomes a card, so nothing scrolls sideways).
 */
export function table(caption: string, columns: string[], rows: Child[][], empty = 'Nothing to show.'): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    { class: 'grid' },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', null, h('tr', null, ...columns.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, ...rows.map((cells) => h('tr', null, ...cells.map((cell, i) => h('td', { 'data-label': columns[i] }, cell))))),
  );
}

/** A yes/no badge whose words say the state (colour is not the only signal). */
export function badge(text: string, tone: 'good' | 'bad' | 'warn' | 'plain' = 'plain'): HTMLElement {
  return h('span', { class: `badge ${tone}` }, text);
}

export function when(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 16)} UTC`;
}
