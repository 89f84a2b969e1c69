import { h } from '../dom';

/** "1–25 of 312" and Previous / Next links (links: the page's address says where it is). */
export function pager(label: string, total: number, startIndex: number, count: number, link: (startIndex: number) => string): HTMLElement {
  const last = Math.min(total, startIndex + count - 1);
  const shown =
    total === 0 ? `No ${label}` : `${startIndex.toLocaleString('en-US')}–${last.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} ${label}`;
  return h(
    'nav',
    { class: 'pager', 'aria-label': `Pages of ${label}` },
    h('span', null, shown),
    startIndex > 1 ? h('a', { href: link(Math.max(1, startIndex - count)), rel: 'prev' }, 'Previous') : null,
    last < total ? h('a', { href: link(startIndex + count), rel: 'next' }, 'Next') : null,
  );
}
