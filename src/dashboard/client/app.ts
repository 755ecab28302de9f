/**
 * The dashboard page (GET / in a browser): four views of one page, switched by the URL hash
 * (#live, #browse, #search, #tail) so they keep their state, and the tail and a live search their
 * connections, while hidden.
 */
import './style.css';
import { BrowseView } from './browse-view.js';
import { LiveView } from './live-view.js';
import { SearchView } from './search-view.js';
import { mountShell, type Section } from './shell.js';
import { StatsPoller } from './stats-poller.js';
import { TailView } from './tail-view.js';
import { onTokenChange } from './token.js';

type View = Exclude<Section, 'docs'>;

const shell = mountShell(document.getElementById('app')!, 'app');
const poller = new StatsPoller();
const browse = new BrowseView();
const search = new SearchView();
const tail = new TailView();
const live = new LiveView((topic) => {
  browse.open(topic);
  location.hash = '#browse';
});
const views: Readonly<Record<View, HTMLElement>> = { live: live.element, browse: browse.element, search: search.element, tail: tail.element };
shell.main.append(...Object.values(views));

poller.onUpdate((update) => {
  live.update(update);
  browse.update(update.stats);
  search.update(update.stats);
  tail.update(update.stats);
});
onTokenChange(() => void poller.pollNow());

function route(): void {
  const requested = location.hash.slice(1);
  const current: View = requested === 'browse' || requested === 'search' || requested === 'tail' ? requested : 'live';
  for (const [name, element] of Object.entries(views)) element.hidden = name !== current;
  shell.setActive(current);
  if (current === 'search') search.activate();
}
window.addEventListener('hashchange', route);
route();
poller.start();
