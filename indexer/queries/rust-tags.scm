; Definitions: @name.definition.<kind> is the name, @definition.<kind> the whole unit.
; Functions, consts and type aliases are matched by their parent so that each is matched
; once: items of an `impl Foo` block carry @scope (the implemented type, without generics or
; path), which makes them methods of Foo wherever Foo is defined.

(struct_item
  name: (type_identifier) @name.definition.struct) @definition.struct

(union_item
  name: (type_identifier) @name.definition.struct) @definition.struct

(enum_item
  name: (type_identifier) @name.definition.enum) @definition.enum

(enum_variant
  name: (identifier) @name.definition.constant) @definition.constant

(trait_item
  name: (type_identifier) @name.definition.trait) @definition.trait

(mod_item
  name: (identifier) @name.definition.module
  body: (declaration_list)) @definition.module

(macro_definition
  name: (identifier) @name.definition.macro) @definition.macro

; named struct fields (tuple structs have none)
(struct_item
  body: (field_declaration_list
    (field_declaration
      name: (field_identifier) @name.definition.field) @definition.field))

(union_item
  body: (field_declaration_list
    (field_declaration
      name: (field_identifier) @name.definition.field) @definition.field))

; items at module level: the file, or an inline `mod m { ... }`
(source_file
  [
    (function_item name: (identifier) @name.definition.function) @definition.function
    (const_item name: (identifier) @name.definition.constant) @definition.constant
    (static_item name: (identifier) @name.definition.constant) @definition.constant
    (type_item name: (type_identifier) @name.definition.type) @definition.type
  ])

(mod_item
  body: (declaration_list
    [
      (function_item name: (identifier) @name.definition.function) @definition.function
      (const_item name: (identifier) @name.definition.constant) @definition.constant
      (static_item name: (identifier) @name.definition.constant) @definition.constant
      (type_item name: (type_identifier) @name.definition.type) @definition.type
    ]))

; functions nested in a function body
(block
  (function_item name: (identifier) @name.definition.function) @definition.function)

; trait members: required and provided methods, associated consts and types
(trait_item
  body: (declaration_list
    [
      (function_item name: (identifier) @name.definition.function) @definition.function
      (function_signature_item name: (identifier) @name.definition.function) @definition.function
      (const_item name: (identifier) @name.definition.constant) @definition.constant
      (associated_type name: (type_identifier) @name.definition.type) @definition.type
    ]))

; extern "C" { fn f(); }
(foreign_mod_item
  body: (declaration_list
    [
      (function_signature_item name: (identifier) @name.definition.function) @definition.function
      (static_item name: (identifier) @name.definition.constant) @definition.constant
    ]))

; impl [Trait for] Type { ... }: members scoped by the implemented type
(impl_item
  type: [
    (type_identifier) @scope
    (generic_type type: (type_identifier) @scope)
    (scoped_type_identifier name: (type_identifier) @scope)
    (generic_type type: (scoped_type_identifier name: (type_identifier) @scope))
  ]
  body: (declaration_list
    [
      (function_item name: (identifier) @name.definition.function) @definition.function
      (const_item name: (identifier) @name.definition.constant) @definition.constant
      (type_item name: (type_identifier) @name.definition.type) @definition.type
    ]))

; References: what a file calls, constructs and names as a type.

(call_expression
  function: (identifier) @name.reference.call)

(call_expression
  function: (field_expression field: (field_identifier) @name.reference.call))

(call_expression
  function: (scoped_identifier name: (identifier) @name.reference.call))

; the type or module in `Type::new()` / `module::f()`
(call_expression
  function: (scoped_identifier path: (identifier) @name.reference.type))

(call_expression
  function: (generic_function function: (identifier) @name.reference.call))

(macro_invocation
  macro: (identifier) @name.reference.call)

(struct_expression
  name: (type_identifier) @name.reference.class)

(type_identifier) @name.reference.type
