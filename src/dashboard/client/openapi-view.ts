import { h, withCode, type Child } from './dom.js';
import { httpMethods, type MediaType, type OpenApiDocument, type Operation, type Parameter, type ResponseObject } from './openapi-types.js';
import { schemaAnchor, schemaView } from './schema-view.js';

interface Endpoint {
  readonly method: string;
  readonly path: string;
  readonly operation: Operation;
}

function endpointsOf(document: OpenApiDocument): Endpoint[] {
  const endpoints: Endpoint[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of httpMethods) {
      const operation = item[method];
      if (operation) endpoints.push({ method, path, operation });
    }
  }
  return endpoints;
}

export function operationAnchor(method: string, path: string): string {
  return `op-${method}-${path.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'root'}`;
}

/** The API reference: a table of contents beside every operation and every component schema. */
export function openApiView(document: OpenApiDocument): HTMLElement {
  const endpoints = endpointsOf(document);
  const schemas = Object.entries(document.components?.schemas ?? {});
  const toc = h(
    'nav',
    { class: 'card toc' },
    h('h2', null, 'Endpoints'),
    h('ul', null, ...endpoints.map(({ method, path }) => h('li', null, h('a', { attrs: { href: `#${operationAnchor(method, path)}` } }, methodBadge(method), h('span', { class: 'mono' }, path))))),
    h('h2', null, 'Schemas'),
    h('ul', null, ...schemas.map(([name]) => h('li', null, h('a', { class: 'mono', attrs: { href: `#${schemaAnchor(name)}` } }, name)))),
  );
  const intro = h(
    'div',
    { class: 'card' },
    h('h1', null, document.info.title, ' ', h('span', { class: 'muted version' }, `v${document.info.version} · OpenAPI ${document.openapi}`)),
    document.info.description ? h('p', null, withCode(document.info.description)) : null,
    securityNote(document),
    h('p', { class: 'muted' }, 'Rendered from ', h('a', { attrs: { href: '/openapi.json' } }, '/openapi.json'), '.'),
  );
  return h(
    'div',
    { class: 'docs' },
    toc,
    h(
      'div',
      { class: 'docs-main' },
      intro,
      ...endpoints.map((endpoint) => operationView(endpoint)),
      h('h2', { class: 'section-title' }, 'Schemas'),
      ...schemas.map(([name, schema]) => h('section', { class: 'card', attrs: { id: schemaAnchor(name) } }, h('h2', { class: 'mono schema-name' }, name), schemaView(schema))),
    ),
  );
}

function securityNote(document: OpenApiDocument): Child {
  const schemes = Object.entries(document.components?.securitySchemes ?? {});
  if (schemes.length === 0) return null;
  return h(
    'div',
    null,
    h('h3', null, 'Authentication'),
    h('ul', null, ...schemes.map(([name, scheme]) => h('li', null, h('code', null, name), `: ${scheme.type}${scheme.scheme ? ` ${scheme.scheme}` : ''}`, scheme.description ? ` — ${scheme.description}` : ''))),
  );
}

function methodBadge(method: string): HTMLElement {
  return h('span', { class: `method method-${method}` }, method.toUpperCase());
}

function operationView({ method, path, operation }: Endpoint): HTMLElement {
  const tokens = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement));
  const open = (operation.security ?? []).some((requirement) => Object.keys(requirement).length === 0);
  return h(
    'section',
    { class: 'card operation', attrs: { id: operationAnchor(method, path), 'data-operation': `${method.toUpperCase()} ${path}` } },
    h('h2', { class: 'operation-title' }, methodBadge(method), h('span', { class: 'mono' }, path)),
    operation.summary ? h('p', { class: 'summary' }, withCode(operation.summary)) : null,
    operation.description ? h('p', null, withCode(operation.description)) : null,
    tokens.length > 0 ? h('p', { class: 'muted' }, `Auth: ${tokens.join(' or ')}${open ? ' when configured (open otherwise)' : ''}.`) : null,
    operation.parameters?.length ? parametersView(operation.parameters) : null,
    operation.requestBody
      ? h(
          'div',
          null,
          h('h3', null, 'Request body', operation.requestBody.required ? h('span', { class: 'required' }, 'required') : null),
          operation.requestBody.description ? h('p', null, withCode(operation.requestBody.description)) : null,
          contentView(operation.requestBody.content),
        )
      : null,
    operation.responses ? responsesView(operation.responses) : null,
  );
}

function parametersView(parameters: readonly Parameter[]): HTMLElement {
  return h(
    'div',
    null,
    h('h3', null, 'Parameters'),
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'parameters' },
        h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'In'), h('th', null, 'Schema'), h('th', null, 'Description'))),
        h(
          'tbody',
          null,
          ...parameters.map((parameter) =>
            h(
              'tr',
              { attrs: { 'data-parameter': parameter.name } },
              h('td', { class: 'property' }, h('code', null, parameter.name), parameter.required ? h('span', { class: 'required' }, 'required') : h('span', { class: 'optional' }, 'optional')),
              h('td', null, parameter.in),
              h('td', null, parameter.schema === undefined ? '' : schemaView(parameter.schema)),
              h('td', null, parameter.description ? withCode(parameter.description) : ''),
            ),
          ),
        ),
      ),
    ),
  );
}

function contentView(content: Readonly<Record<string, MediaType>> | undefined): Child {
  const entries = Object.entries(content ?? {});
  if (entries.length === 0) return null;
  return h('div', { class: 'content' }, ...entries.map(([type, media]) => h('div', { class: 'media' }, h('div', { class: 'media-type mono' }, type), media.schema === undefined ? null : schemaView(media.schema))));
}

function responsesView(responses: Readonly<Record<string, ResponseObject>>): HTMLElement {
  return h(
    'div',
    null,
    h('h3', null, 'Responses'),
    h(
      'table',
      { class: 'responses' },
      h(
        'tbody',
        null,
        ...Object.entries(responses).map(([status, response]) =>
          h(
            'tr',
            { attrs: { 'data-status': status } },
            h('td', { class: `status status-${status.charAt(0)}xx` }, status),
            h(
              'td',
              null,
              response.description ? h('div', null, withCode(response.description)) : null,
              ...Object.entries(response.headers ?? {}).map(([name]) => h('div', { class: 'muted' }, 'header ', h('code', null, name))),
              contentView(response.content),
            ),
          ),
        ),
      ),
    ),
  );
}
