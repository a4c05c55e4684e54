; TypeScript imports: the JavaScript ones (keep the two files in step) plus `import x = require()`,
; `export = X` and `export default abstract class / interface X`. Serves both the typescript and
; the tsx grammar.
; One match per name an import (or export ... from, or require) binds; @import is the statement.
; @import.module   the specifier string, quotes included (the resolver strips them)
; @import.name     a name imported from it
; @import.alias    the local name when renamed; a namespace's local name
; @import.default  a default import's local name
; @import.wildcard `export * from`
; A match without @import.module is one of the module's own exports under another name
; (`export default X`, `export {a as b}`, `module.exports = X`): the resolver records it as a
; re-export from the file itself, so `import X from './m'` finds what `default` stands for.
; @import.commonjs marks CommonJS exports (`module.exports = {...}`, `exports.a = ...`).

; -- ES imports --------------------------------------------------------------------------------

; import './polyfill'   (no binding)
(import_statement
  .
  source: (string) @import.module) @import

; import Def from 'm'
(import_statement
  (import_clause
    (identifier) @import.default)
  source: (string) @import.module) @import

; import { a, b as c } from 'm'
(import_statement
  (import_clause
    (named_imports
      (import_specifier
        name: (_) @import.name
        !alias)))
  source: (string) @import.module) @import

(import_statement
  (import_clause
    (named_imports
      (import_specifier
        name: (_) @import.name
        alias: _ @import.alias)))
  source: (string) @import.module) @import

; import * as ns from 'm'
(import_statement
  (import_clause
    (namespace_import
      (identifier) @import.alias))
  source: (string) @import.module) @import

; -- re-exports --------------------------------------------------------------------------------

; export { a, b as c } from 'm'
(export_statement
  (export_clause
    (export_specifier
      name: (_) @import.name
      !alias))
  source: (string) @import.module) @import

(export_statement
  (export_clause
    (export_specifier
      name: (_) @import.name
      alias: _ @import.alias))
  source: (string) @import.module) @import

; export * from 'm'
(export_statement
  "*" @import.wildcard
  source: (string) @import.module) @import

; export * as ns from 'm'
(export_statement
  (namespace_export
    (_) @import.alias)
  source: (string) @import.module) @import

; -- the module's own exports under another name -----------------------------------------------

; export { a as b }   (only renamed ones: `export { a }` needs nothing)
(export_statement
  (export_clause
    (export_specifier
      name: (_) @import.name
      alias: _ @import.alias))
  !source) @import

; export default X   /   export default class X {}   /   export default function X() {}
(export_statement
  "default"
  value: (identifier) @import.name) @import

(export_statement
  "default"
  declaration: [
    (class_declaration name: (_) @import.name)
    (function_declaration name: (_) @import.name)
    (generator_function_declaration name: (_) @import.name)
    (abstract_class_declaration name: (_) @import.name)
    (interface_declaration name: (_) @import.name)
  ]) @import

; module.exports = X   /   module.exports = class X {}   /   module.exports = function X() {}
(expression_statement
  (assignment_expression
    left: (member_expression
      object: (identifier) @_module
      property: (property_identifier) @_exports)
    right: [
      (identifier) @import.name
      (class name: (_) @import.name)
      (function_expression name: (_) @import.name)
    ])
  (#eq? @_module "module")
  (#eq? @_exports "exports")) @import

; module.exports = { ... }   /   exports.a = ...   /   module.exports.a = ...
(expression_statement
  (assignment_expression
    left: (member_expression
      object: (identifier) @_module
      property: (property_identifier) @_exports)
    right: (object))
  (#eq? @_module "module")
  (#eq? @_exports "exports")) @import.commonjs

(expression_statement
  (assignment_expression
    left: (member_expression
      object: [(identifier) (member_expression)] @_exports))
  (#match? @_exports "^(module\\.)?exports$")) @import.commonjs

; -- CommonJS require --------------------------------------------------------------------------

; const x = require('m')
(variable_declarator
  name: (identifier) @import.default
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments . (string) @import.module))
  (#eq? @_require "require")) @import

; const { a, b: c } = require('m')
(variable_declarator
  name: (object_pattern
    (shorthand_property_identifier_pattern) @import.name)
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments . (string) @import.module))
  (#eq? @_require "require")) @import

(variable_declarator
  name: (object_pattern
    (pair_pattern
      key: (property_identifier) @import.name
      value: (identifier) @import.alias))
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments . (string) @import.module))
  (#eq? @_require "require")) @import

; const y = require('m').y
(variable_declarator
  name: (identifier) @import.alias
  value: (member_expression
    object: (call_expression
      function: (identifier) @_require
      arguments: (arguments . (string) @import.module))
    property: (property_identifier) @import.name)
  (#eq? @_require "require")) @import

; require('m')   (no binding)
(expression_statement
  (call_expression
    function: (identifier) @_require
    arguments: (arguments . (string) @import.module))
  (#eq? @_require "require")) @import

; -- TypeScript --------------------------------------------------------------------------------

; import fs = require('fs')
(import_statement
  (import_require_clause
    (identifier) @import.default
    source: (string) @import.module)) @import

; export = X
(export_statement
  "="
  (identifier) @import.name) @import
