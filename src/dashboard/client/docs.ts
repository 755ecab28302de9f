import './style.css';
import { getJson } from './api.js';
import { h } from './dom.js';
import type { OpenApiDocument } from './openapi-types.js';
import { openApiView } from './openapi-view.js';
import { mountShell } from './shell.js';

/** The API reference page (GET /docs), rendered in the browser from the service's own /openapi.json. */
const shell = mountShell(document.getElementById('app')!, 'docs');
shell.setActive('docs');
shell.main.append(h('p', { class: 'muted' }, 'Loading /openapi.json…'));

getJson<OpenApiDocument>('/openapi.json', { tokenRoute: false }).then(
  (document_) => {
    shell.main.replaceChildren(openApiView(document_));
    // The anchor in the URL could not be found before the content existed.
    if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
  },
  (error: unknown) => shell.main.replaceChildren(h('div', { class: 'card' }, h('p', null, `Could not load /openapi.json: ${error instanceof Error ? error.message : String(error)}`))),
);
