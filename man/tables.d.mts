/** Types of `tables.mjs`, for the TypeScript tests that import it. */

/** A row of `addressTypesTable()`, as far as the tables use it. */
export interface TypeRow {
  type: string;
  aliases: readonly string[];
  syntax: string;
  help: string;
  listens: boolean;
  options: readonly string[];
  examples: readonly string[];
}

/** A row of `addressOptionsTable()`, as far as the tables use it. */
export interface OptionRow {
  option: string;
  aliases: readonly string[];
  syntax: string;
  kind: string;
  repeatable: boolean;
  help: string;
  types: readonly string[];
}

/** The registry's rows. */
export interface Tables {
  types: readonly TypeRow[];
  options: readonly OptionRow[];
}

export type DocFormat = 'man' | 'md';

export declare const REGIONS: readonly ['address-types', 'address-options'];
export declare function markers(format: DocFormat, region: string): { begin: string; end: string };
export declare function roffEscape(s: string): string;
export declare function roffToText(s: string): string;
export declare function manTypesTable(rows: readonly TypeRow[]): string;
export declare function manOptionsTable(rows: readonly OptionRow[]): string;
export declare function mdTypesTable(rows: readonly TypeRow[]): string;
export declare function mdOptionsTable(rows: readonly OptionRow[]): string;
export declare function renderRegion(format: DocFormat, region: string, tables: Tables): string;
export declare function extractRegion(text: string, format: DocFormat, region: string): string | undefined;
export declare function regenerate(text: string, format: DocFormat, tables: Tables): string;
