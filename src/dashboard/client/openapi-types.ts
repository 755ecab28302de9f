/** The part of an OpenAPI 3.1 document the reference page renders. Schemas stay untyped JSON: schema-view.ts reads them defensively. */

export type JsonSchema = unknown;

export interface Parameter {
  readonly name: string;
  readonly in: string;
  readonly required?: boolean;
  readonly description?: string;
  readonly schema?: JsonSchema;
}

export interface MediaType {
  readonly schema?: JsonSchema;
}

export interface RequestBody {
  readonly required?: boolean;
  readonly description?: string;
  readonly content?: Readonly<Record<string, MediaType>>;
}

export interface ResponseHeader {
  readonly description?: string;
  readonly schema?: JsonSchema;
}

export interface ResponseObject {
  readonly description?: string;
  readonly content?: Readonly<Record<string, MediaType>>;
  readonly headers?: Readonly<Record<string, ResponseHeader>>;
}

export interface Operation {
  readonly summary?: string;
  readonly description?: string;
  readonly parameters?: readonly Parameter[];
  readonly requestBody?: RequestBody;
  readonly responses?: Readonly<Record<string, ResponseObject>>;
  /** `[{}, {readToken: []}]`: open, or with that token. */
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
}

export interface SecurityScheme {
  readonly type: string;
  readonly scheme?: string;
  readonly description?: string;
}

export interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly paths: Readonly<Record<string, Readonly<Record<string, Operation>>>>;
  readonly components?: {
    readonly schemas?: Readonly<Record<string, JsonSchema>>;
    readonly securitySchemes?: Readonly<Record<string, SecurityScheme>>;
  };
}

export const httpMethods = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;
