import { getJson, onConnection, type Connection } from './api.js';
import type { ServiceInfo } from './api-types.js';
import { h, setText } from './dom.js';
import { onTokenChange, readToken, saveToken } from './token.js';

export type Section = 'live' | 'browse' | 'search' | 'tail' | 'docs';

const sections: readonly { readonly id: Section; readonly label: string }[] = [
  { id: 'live', label: 'Live' },
  { id: 'browse', label: 'Browse' },
  { id: 'search', label: 'Search' },
  { id: 'tail', label: 'Tail' },
  { id: 'docs', label: 'API docs' },
];

export interface Shell {
  readonly main: HTMLElement;
  /** Marks a section current in the navigation. */
  setActive(section: Section): void;
}

/**
 * The frame both pages share: service name and version, navigation, the read-token field and a
 * banner that says when the service refuses the token or cannot be reached.
 */
export function mountShell(root: HTMLElement, page: 'app' | 'docs'): Shell {
  const version = h('span', { class: 'version muted', attrs: { 'data-service': 'version' } });
  const links = sections.map(({ id, label }) => {
    // The dashboard's sections are views of one page; the docs are another page.
    const href = id === 'docs' ? '/docs' : page === 'app' ? `#${id}` : `/#${id}`;
    return h('a', { class: 'nav-link', attrs: { href, 'data-nav': id } }, label);
  });
  const banner = h('div', { class: 'banner', attrs: { role: 'status', hidden: true, 'data-banner': '' } });
  const main = h('main', { class: 'main' });
  root.replaceChildren(
    h(
      'header',
      { class: 'header' },
      h('div', { class: 'brand' }, h('span', { class: 'logo', attrs: { 'aria-hidden': 'true' } }), h('a', { class: 'name', attrs: { href: '/' } }, 'exactly-once-aggregator'), version),
      h('nav', { class: 'nav' }, ...links),
      tokenForm(),
    ),
    banner,
    main,
  );
  onConnection((connection) => showBanner(banner, connection));
  void getJson<ServiceInfo>('/', { tokenRoute: false }).then(
    (info) => setText(version, `v${info.version} · ${info.shards} shard${info.shards === 1 ? '' : 's'}`),
    () => {},
  );
  return {
    main,
    setActive(section) {
      for (const link of links) link.classList.toggle('active', link.dataset.nav === section);
    },
  };
}

function tokenForm(): HTMLFormElement {
  const input = h('input', { class: 'input', attrs: { type: 'password', placeholder: 'read token', autocomplete: 'off', 'aria-label': 'Read token', 'data-token': 'input' } });
  const state = h('span', { class: 'token-state muted', attrs: { 'data-token': 'state' } });
  const forget = h('button', { class: 'button subtle', attrs: { type: 'button', 'data-token': 'forget' }, on: { click: () => saveToken('') } }, 'Forget');
  const show = (token: string) => {
    setText(state, token ? 'token set' : 'no token');
    forget.hidden = !token;
    input.value = '';
  };
  const form = h(
    'form',
    {
      class: 'token',
      on: {
        submit: (event) => {
          event.preventDefault();
          if (input.value.trim()) saveToken(input.value.trim());
        },
      },
    },
    state,
    input,
    h('button', { class: 'button', attrs: { type: 'submit', 'data-token': 'use' } }, 'Use'),
    forget,
  );
  show(readToken());
  onTokenChange(show);
  return form;
}

function showBanner(banner: HTMLElement, connection: Connection): void {
  banner.hidden = connection.state === 'ok';
  banner.dataset.state = connection.state;
  if (connection.state === 'token') setText(banner, `This service needs a read token: paste it in the field at the top right. (${connection.message})`);
  if (connection.state === 'down') setText(banner, `${connection.message}; retrying.`);
}
