import { h, withCode, type Child } from './dom.js';
import type { JsonSchema } from './openapi-types.js';

type SchemaObject = Readonly<Record<string, unknown>>;

const kMaxDepth = 12;
const refPrefix = '#/components/schemas/';

function asObject(value: unknown): SchemaObject | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as SchemaObject) : null;
}

export function schemaAnchor(name: string): string {
  return `schema-${name}`;
}

/**
 * A JSON Schema (OpenAPI 3.1's dialect) as a readable tree: the type on one line with its
 * constraints as chips, then properties, items or alternatives below. A `$ref` is a link to the
 * schema's own section rather than expanded, which also keeps recursive schemas finite.
 */
export function schemaView(schema: JsonSchema, depth = 0): HTMLElement {
  const node = asObject(schema);
  if (!node) return h('div', { class: 'schema' }, h('span', { class: 'type' }, schema === true ? 'any' : 'nothing'));
  if (depth > kMaxDepth) return h('div', { class: 'schema' }, h('span', { class: 'muted' }, '…'));
  const ref = typeof node.$ref === 'string' ? node.$ref : null;
  if (ref) {
    const name = ref.startsWith(refPrefix) ? ref.slice(refPrefix.length) : ref;
    return h('div', { class: 'schema' }, h('a', { class: 'type ref', attrs: { href: `#${schemaAnchor(name)}` } }, name), description(node));
  }
  const alternatives = (['oneOf', 'anyOf', 'allOf'] as const).find((key) => Array.isArray(node[key]));
  if (alternatives) {
    const variants = node[alternatives] as readonly unknown[];
    const label = alternatives === 'allOf' ? 'all of' : 'one of';
    return h('div', { class: 'schema' }, h('span', { class: 'type' }, label), description(node), h('ul', { class: 'variants' }, ...variants.map((variant) => h('li', null, schemaView(variant, depth + 1)))));
  }
  return h('div', { class: 'schema' }, h('span', { class: 'type' }, typeName(node)), ...constraints(node), description(node), children(node, depth));
}

function typeName(node: SchemaObject): string {
  if ('const' in node) return `= ${JSON.stringify(node.const)}`;
  const type = Array.isArray(node.type) ? node.type.join(' | ') : typeof node.type === 'string' ? node.type : 'any';
  if (type === 'object' && !asObject(node.properties) && (asObject(node.patternProperties) || asObject(node.additionalProperties))) return 'map';
  return type;
}

/** Validation keywords as chips, e.g. `1–128 chars`, `≤ 1000`, `format date-time`. */
function constraints(node: SchemaObject): HTMLElement[] {
  const chips: string[] = [];
  const range = (min: unknown, max: unknown, unit: string) => {
    const low = typeof min === 'number' ? min : null;
    const high = typeof max === 'number' ? max : null;
    if (low !== null && high !== null) chips.push(`${low}–${high}${unit}`);
    else if (low !== null) chips.push(`≥ ${low}${unit}`);
    else if (high !== null) chips.push(`≤ ${high}${unit}`);
  };
  range(node.minLength, node.maxLength, ' chars');
  range(node.minimum, node.maximum, '');
  range(node.minItems, node.maxItems, ' items');
  if (typeof node.format === 'string') chips.push(`format ${node.format}`);
  if (typeof node.pattern === 'string') chips.push(`pattern ${node.pattern}`);
  if (Array.isArray(node.enum)) chips.push(`one of ${node.enum.map((value) => JSON.stringify(value)).join(', ')}`);
  if ('default' in node) chips.push(`default ${JSON.stringify(node.default)}`);
  if (node.additionalProperties === false) chips.push('no other fields');
  return chips.map((text) => h('span', { class: 'chip' }, text));
}

function description(node: SchemaObject): Child {
  return typeof node.description === 'string' ? h('div', { class: 'description' }, withCode(node.description)) : null;
}

function children(node: SchemaObject, depth: number): Child {
  const properties = asObject(node.properties);
  if (properties && Object.keys(properties).length > 0) {
    const required = new Set(Array.isArray(node.required) ? node.required.filter((name): name is string => typeof name === 'string') : []);
    return h(
      'table',
      { class: 'properties' },
      h(
        'tbody',
        null,
        ...Object.entries(properties).map(([name, property]) =>
          h('tr', null, h('td', { class: 'property' }, h('code', null, name), required.has(name) ? h('span', { class: 'required', attrs: { title: 'required' } }, 'required') : h('span', { class: 'optional' }, 'optional')), h('td', null, schemaView(property, depth + 1))),
        ),
      ),
    );
  }
  // A map: TypeBox writes Record as patternProperties, other generators as additionalProperties.
  const values = [...Object.values(asObject(node.patternProperties) ?? {}), ...(asObject(node.additionalProperties) ? [node.additionalProperties] : [])];
  if (values.length > 0) {
    return h('div', { class: 'nested' }, ...values.map((value) => h('div', null, h('span', { class: 'muted' }, 'string → '), schemaView(value, depth + 1))));
  }
  if ('items' in node) return h('div', { class: 'nested' }, h('span', { class: 'muted' }, 'items: '), schemaView(node.items, depth + 1));
  return null;
}
