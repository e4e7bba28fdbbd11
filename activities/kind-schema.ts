// The pieces a step kind's argument schema is built from: TypeBox types (JSON Schema
// underneath, so the catalog file is the schema as written) plus two helpers TypeBox
// lacks — a plain `enum` of strings, and an argument with a default — and the type of
// the arguments a kind's code receives: validated, with every default filled in.
import {
  Type,
  type SchemaOptions,
  type Static,
  type TObject,
  type TOptional,
  type TSchema,
  type TUnsafe,
} from '@sinclair/typebox';

export { Type } from '@sinclair/typebox';
export type { TObject } from '@sinclair/typebox';

declare const defaulted: unique symbol;
/** An argument YAML may omit: the compiler (and the worker) fill in `default`. */
export type TDefaulted<T extends TSchema> = TOptional<T> & { readonly [defaulted]: true };

export function withDefault<T extends TSchema>(schema: T, value: Static<T>): TDefaulted<T> {
  return Type.Optional({ ...schema, default: value }) as TDefaulted<T>;
}

/** `{"enum": [...]}`, as editors and `validate`'s "did you mean" read it (TypeBox's unions are anyOf). */
export function StringEnum<const T extends string[]>(values: [...T], options: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, enum: values });
}

type Flatten<T> = { [K in keyof T]: T[K] } & {};
type Required<P> = {
  [K in keyof P]: P[K] extends TOptional<TSchema> ? (P[K] extends TDefaulted<TSchema> ? K : never) : K;
}[keyof P];
type Omittable<P> = Exclude<keyof P, Required<P>>;

/** What a kind's `run` receives for a schema: arguments with defaults are always present. */
export type ArgsOf<T extends TSchema> =
  T extends TObject<infer P>
    ? Flatten<{ [K in Required<P>]: ArgsOf<P[K]> } & { [K in Omittable<P>]?: ArgsOf<P[K]> }>
    : Static<T>;
