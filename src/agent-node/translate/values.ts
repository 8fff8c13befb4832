// Pure rendering of V8 RemoteObjects as DAP values.

export interface RemoteObject {
  type: string;
  subtype?: string;
  className?: string;
  value?: unknown;
  unserializableValue?: string;
  description?: string;
  objectId?: string;
}

export const MAX_VALUE_CHARS = 1000;

function truncate(text: string, max = MAX_VALUE_CHARS): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * V8 sends a string value whole over CDP, however long: a 100 MB string would be copied, escaped and parsed for a
 * one-line display. Functions the agent runs in the program therefore hand back, in place of a string longer than
 * MAX_VALUE_CHARS, this mark, its length and its first MAX_VALUE_CHARS characters ("MARK<length>:<head>"). A real
 * string that happens to start with the mark is sent the same way, so the mark is never mistaken.
 */
export const LONG_STRING_MARK = '\u0000longreach:long-string:';

/** Source of a function of one value, run in the program: the value, or the mark form of a long string. */
export const BOUND_VALUE = `(v) => typeof v === 'string' && (v.length > ${MAX_VALUE_CHARS} || v.startsWith(${JSON.stringify(LONG_STRING_MARK)})) ? ${JSON.stringify(LONG_STRING_MARK)} + v.length + ':' + v.slice(0, ${MAX_VALUE_CHARS}) : v`;

/**
 * Source of a function run on an object in the program: undefined when none of its own data properties holds a
 * long string (the object can be listed as it is), else a copy of its own properties (accessors stay accessors,
 * never called) with every long string in the mark form, to be listed instead.
 */
export const BOUNDED_VIEW = `function () {
  const bound = ${BOUND_VALUE};
  const keys = Reflect.ownKeys(this);
  let long = false;
  for (const k of keys) {
    const d = Object.getOwnPropertyDescriptor(this, k);
    if (d && typeof d.value === 'string' && bound(d.value) !== d.value) { long = true; break; }
  }
  if (!long) return undefined;
  const view = Object.create(null);
  for (const k of keys) {
    const d = Object.getOwnPropertyDescriptor(this, k);
    if (!d) continue;
    if ('value' in d) d.value = bound(d.value);
    d.configurable = true;
    Object.defineProperty(view, k, d);
  }
  return view;
}`;

/** The length and first characters of a string sent in the mark form, or null for any other value. */
export function longString(value: unknown): { length: number; head: string } | null {
  if (typeof value !== 'string' || !value.startsWith(LONG_STRING_MARK)) return null;
  const rest = value.slice(LONG_STRING_MARK.length);
  const colon = rest.indexOf(':');
  const length = Number(rest.slice(0, colon));
  if (colon < 0 || !Number.isInteger(length)) return null;
  return { length, head: rest.slice(colon + 1) };
}

/** The one-line value text, e.g. `42`, `"abc"`, `Array(3)`, `{…}` class names, `ƒ add(a, b)`. */
export function formatValue(obj: RemoteObject): string {
  switch (obj.type) {
    case 'undefined':
      return 'undefined';
    case 'string': {
      const long = longString(obj.value);
      const text = long ? long.head : String(obj.value);
      const length = long ? long.length : text.length;
      if (length <= MAX_VALUE_CHARS) return truncate(JSON.stringify(text));
      return `${JSON.stringify(text.slice(0, MAX_VALUE_CHARS))}… (${length.toLocaleString('en-US')} chars)`;
    }
    case 'number':
    case 'bigint':
      return obj.unserializableValue ?? obj.description ?? String(obj.value);
    case 'boolean':
      return String(obj.value);
    case 'symbol':
      return obj.description ?? 'Symbol()';
    case 'function': {
      const text = obj.description ?? 'function';
      const head = text.split('\n', 1)[0] ?? text;
      return truncate(`ƒ ${head.replace(/^(async\s+)?function\s*\*?\s*/, '$1').replace(/\s*\{\s*$/, '')}`, 200);
    }
    case 'object':
      if (obj.subtype === 'null') return 'null';
      return truncate(obj.description ?? obj.className ?? 'Object');
    default:
      return truncate(obj.description ?? String(obj.value));
  }
}

/** A DAP type name: `number`, `string`, `Array`, `Map`, the class name... */
export function typeName(obj: RemoteObject): string {
  if (obj.type === 'object') return obj.subtype === 'null' ? 'null' : (obj.className ?? 'Object');
  return obj.type;
}

/** True when the object has children to show (needs an objectId and is not null). */
export function isExpandable(obj: RemoteObject): boolean {
  return (obj.type === 'object' || obj.type === 'function') && obj.subtype !== 'null' && typeof obj.objectId === 'string';
}

/** Element count of an array-like (`Array(300)`, `Uint8Array(16)`, `Buffer(16)`) or entry count of a Map or Set
 * (`Map(3)`), or null. */
export function indexedCount(obj: RemoteObject): number | null {
  if (obj.type !== 'object' || !['array', 'typedarray', 'map', 'set'].includes(obj.subtype ?? '')) return null;
  const m = /\((\d+)\)$/.exec(obj.description ?? '');
  return m ? Number(m[1]) : null;
}

/** The CDP CallArgument that passes this value back to V8. */
export function callArgument(obj: RemoteObject): { objectId: string } | { unserializableValue: string } | { value: unknown } | Record<string, never> {
  if (obj.objectId) return { objectId: obj.objectId };
  if (obj.unserializableValue !== undefined) return { unserializableValue: obj.unserializableValue };
  if (obj.type === 'undefined') return {};
  return { value: obj.value };
}

/** How a child is reached from its parent's expression (`a.b`, `a[3]`, `a["x y"]`). */
export function childEvaluateName(parent: string | undefined, name: string): string | undefined {
  if (!parent) return undefined;
  if (/^\d+$/.test(name)) return `${parent}[${name}]`;
  if (/^[A-Za-z_$][\w$]*$/.test(name)) return `${parent}.${name}`;
  return `${parent}[${JSON.stringify(name)}]`;
}
