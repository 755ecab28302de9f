import { parseArgs } from 'node:util';
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ConfigError } from './errors.js';

/**
 * Options tables, shared by the server's config and the publisher's: each option has a flag, an
 * optional environment variable, its rule as a TypeBox schema, a default the compiler checks
 * against that schema, and a help line. The table is the one declaration: the validation schema,
 * the value type, the defaults, the flags and `--help` all come from it. A failed rule becomes a
 * ConfigError naming the flag.
 */

export interface Knob<S extends TSchema = TSchema, P = Static<S>> {
  readonly flag: string;
  readonly env?: string;
  readonly schema: S;
  readonly default: Static<S>;
  readonly help: string;
  /** The rule in words for error messages; derived from the schema when absent. */
  readonly rule?: string;
  /**
   * Turns the checked text into the value the service uses (a duration into ms, rules into a
   * list), once, at start; throws an Error saying what is wrong, which becomes the option's error.
   */
  parse?(value: Static<S>): P;
}

/** Declares one option; the default must satisfy the schema's type. */
export function knob<S extends TSchema, P = Static<S>>(spec: Knob<S, P>): Knob<S, P> {
  return spec;
}

export type KnobTable = Readonly<Record<string, Knob<TSchema, unknown>>>;

/** The values a table describes, one per option, as its `parse` leaves them. */
export type OptionValues<T extends KnobTable> = { -readonly [K in keyof T]: T[K] extends Knob<TSchema, infer P> ? P : never };

export interface CommandLineValues {
  readonly help: boolean;
  readonly overrides: Record<string, unknown>;
}

/** How an option's text converts, read off its schema. */
type TextKind = 'integer' | 'number' | 'string' | 'boolean' | 'list';

export class OptionSet<T extends KnobTable> {
  readonly knobs: T;
  readonly defaults: Readonly<OptionValues<T>>;
  /** The defaults as given, before `parse`: what overrides are laid over and checked with. */
  readonly #texts: Readonly<Record<string, unknown>>;
  readonly #schema: TObject;
  readonly #check: TypeCheck<TObject>;

  constructor(knobs: T) {
    this.knobs = knobs;
    this.#schema = Type.Object(Object.fromEntries(Object.entries(knobs).map(([name, spec]) => [name, spec.schema])), { additionalProperties: false });
    this.#check = TypeCompiler.Compile(this.#schema);
    this.#texts = Object.fromEntries(Object.entries(knobs).map(([name, spec]) => [name, spec.default]));
    this.defaults = Object.freeze(this.#parse(this.#texts));
  }

  /** The defaults with `overrides` laid over them, checked against the schema. */
  resolve(overrides: Readonly<Record<string, unknown>>): OptionValues<T> {
    const merged: Record<string, unknown> = { ...this.#texts };
    for (const [name, value] of Object.entries(overrides)) {
      if (!(name in this.knobs)) throw new ConfigError(`unknown option "${name}"`);
      if (value !== undefined) merged[name] = value;
    }
    const error = this.#check.Errors(merged).First();
    if (error) {
      const name = error.path.slice(1).split('/', 1)[0]!;
      throw this.invalid(name, merged[name]);
    }
    return this.#parse(merged);
  }

  /** The error for a bad value of one option: `--flag <rule>, got <value>`. */
  invalid(name: string, value: unknown, qualifier = ''): ConfigError {
    const knob = this.knobs[name];
    const rule = knob?.rule ?? describeSchema(this.#schema.properties[name]);
    return new ConfigError(`${knob ? `--${knob.flag}` : name} ${rule}${qualifier}, got ${JSON.stringify(value)}`);
  }

  /** Each value its knob parses, parsed: an error names the option, the rule it broke and the value. */
  #parse(values: Record<string, unknown>): OptionValues<T> {
    const parsed: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(values)) {
      const knob = this.knobs[name]!;
      if (!knob.parse) {
        parsed[name] = value;
        continue;
      }
      try {
        parsed[name] = knob.parse(value);
      } catch (error) {
        throw new ConfigError(`--${knob.flag}: ${(error as Error).message}, got ${JSON.stringify(value)}`);
      }
    }
    return parsed as OptionValues<T>;
  }

  /** Flags first, then environment variables (for knobs that have one); `--help` short-circuits. */
  read(argv: readonly string[], env: NodeJS.ProcessEnv = {}): CommandLineValues {
    const spec: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
    for (const knob of Object.values(this.knobs)) spec[knob.flag] = { type: textKind(knob.schema) === 'boolean' ? 'boolean' : 'string' };
    let values: Record<string, string | boolean | undefined>;
    try {
      values = parseArgs({ args: [...argv], options: spec, strict: true, allowPositionals: false }).values;
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    const overrides: Record<string, unknown> = {};
    for (const [name, knob] of Object.entries(this.knobs)) {
      const flagValue = values[knob.flag];
      if (typeof flagValue === 'boolean') {
        overrides[name] = flagValue;
        continue;
      }
      const raw = flagValue ?? (knob.env ? env[knob.env] : undefined);
      if (raw === undefined || raw === '') continue;
      overrides[name] = convert(raw, textKind(knob.schema));
    }
    return { help: values.help === true, overrides };
  }
}

/** Keeps the raw text when it does not convert, so the validation message can quote it. */
function convert(raw: string, kind: TextKind): unknown {
  const text = raw.trim();
  if (kind === 'integer') return /^-?\d+$/.test(text) ? Number(text) : raw;
  if (kind === 'number') return text !== '' && Number.isFinite(Number(text)) ? Number(text) : raw;
  if (kind === 'boolean') return /^(1|true|yes)$/i.test(text);
  if (kind === 'list') return text.split(',').map((item) => item.trim()).filter((item) => item !== '');
  return raw;
}

function textKind(schema: TSchema): TextKind {
  const type = (schema as { type?: unknown }).type;
  if (type === 'integer' || type === 'number' || type === 'boolean') return type;
  return type === 'array' ? 'list' : 'string';
}

interface SchemaSummary {
  readonly type?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMaximum?: number;
  readonly anyOf?: readonly { const?: unknown }[];
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
}

function describeSchema(schema: TSchema | undefined): string {
  const summary = (schema ?? {}) as SchemaSummary;
  if (summary.anyOf) return `must be one of ${summary.anyOf.map((option) => JSON.stringify(option.const)).join(', ')}`;
  if (summary.type === 'integer' || summary.type === 'number') {
    const bounds = [
      summary.minimum !== undefined ? `>= ${summary.minimum}` : '',
      summary.maximum !== undefined ? `<= ${summary.maximum}` : '',
      summary.exclusiveMaximum !== undefined ? `< ${summary.exclusiveMaximum}` : '',
    ].filter(Boolean);
    return `must be ${summary.type === 'integer' ? 'an integer' : 'a number'}${bounds.length ? ` ${bounds.join(' and ')}` : ''}`;
  }
  if (summary.type === 'boolean') return 'is a flag and takes no value';
  const rules = [
    summary.minLength ? 'non-empty' : '',
    summary.maxLength !== undefined ? `at most ${summary.maxLength} characters` : '',
    summary.pattern !== undefined ? `matching ${summary.pattern}` : '',
  ].filter(Boolean);
  return `must be a string${rules.length ? ` (${rules.join(', ')})` : ''}`;
}

/**
 * An `http:` or `https:` base URL option (no query, no fragment, no trailing slash), as the client
 * commands take `--url`; over https a private CA is trusted through NODE_EXTRA_CA_CERTS.
 */
export function baseUrlOption<T extends KnobTable>(options: OptionSet<T>, name: string, text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw options.invalid(name, text);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') throw options.invalid(name, text, ' without query or fragment');
  return url.href.replace(/\/+$/, '');
}

/** 128 + SIGINT, what a shell reports for a command stopped with Ctrl-C. */
export const kInterruptedExitCode = 130;

/**
 * Ends a client command (`aggregator-publisher`, `aggregator-consumer`) with the code its run
 * settled on; a bad option names itself and points at --help, anything else prints its stack.
 */
export function exitWith(run: Promise<number>): void {
  run.then(
    (code) => {
      // exitCode rather than exit(): stdout is flushed before the process ends.
      process.exitCode = code;
    },
    (error: unknown) => {
      const message = error instanceof ConfigError ? `${error.message} (see --help)` : ((error as Error).stack ?? String(error));
      process.stderr.write(`error: ${message}\n`);
      process.exitCode = 1;
    },
  );
}
