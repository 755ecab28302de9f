/**
 * Whether a client asked for HTML: a browser's navigation sends `Accept: text/html,...`, while
 * curl, fetch() and API clients send a wildcard or JSON. Only an explicit `text/html` with a
 * non-zero quality counts, so a bare wildcard keeps getting JSON.
 */
export function acceptsHtml(accept: string): boolean {
  for (const range of accept.split(',')) {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    if (type !== 'text/html') continue;
    const quality = parameters.find((parameter) => parameter.startsWith('q='));
    return quality === undefined || Number(quality.slice(2)) > 0;
  }
  return false;
}
